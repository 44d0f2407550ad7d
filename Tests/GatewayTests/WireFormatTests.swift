import Testing
@testable import Gateway

/// Numbers and times the gateway writes into heads itself (`HeadBuilder`).
@Suite struct WireFormatTests {
    @Test(arguments: [0, 7, 9, 10, 99, 100, 200, 404, 65_536, Int64.max] as [Int64])
    func aDecimalIsWrittenAsSwiftPrintsIt(value: Int64) {
        var out = HeadBuilder(capacity: 32)
        out.decimal(value)
        #expect(String(decoding: out.bytes, as: UTF8.self) == String(value))
    }

    @Test func theProcessTimeHasSixFractionDigits() throws {
        let config = try Fixture.runtime([Fixture.route("api", [.prefix("/")])])
        let text = try Fixture.context(Fixture.head(), config: config).processTime
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 2 && parts[1].count == 6 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }, "\(text)")
    }
}
