import AsyncHTTPClient
import DevIdP
import Foundation
import JOSE
import NIOCore
import NIOHTTP1
import Testing

/// The repository's realms/ folder, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let devRealmPath = repositoryRoot.appendingPathComponent("realms/systemupdate-dev.json").path

func devRealm() throws -> Realm { try RealmLoader.load(path: devRealmPath) }

/// A realm from JSON text (tests build small exports inline).
func realm(_ json: String) throws(RealmFileError) -> Realm { try RealmLoader.parse(Array(json.utf8), file: "test.json") }

/// The problems a refused realm file reports.
func problems(_ json: String) -> [RealmFileError.Problem] {
    do {
        _ = try realm(json)
        return []
    } catch {
        return error.problems
    }
}

/// One RSA key for the whole test run: generating 2048-bit keys is the slow part of a test.
let sharedKey: PrivateKey = try! PrivateKey.generate(.rsa(bits: 2048))

struct HTTPAnswer {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var json: JSONValue { (try? JSONParser.parse(bytes: body)) ?? .null }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A running dev issuer on a free loopback port, with an HTTP client for it.
final class RunningIdP: Sendable {
    let server: DevIdPServer
    let started: DevIdPServer.Started
    let keys: SigningKeys
    let client = HTTPClient(eventLoopGroupProvider: .singleton,
                            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    var base: String { "http://127.0.0.1:\(started.port)" }
    var issuer: String { started.issuer }
    var tokenURL: String { issuer + "/protocol/openid-connect/token" }
    var certsURL: String { issuer + "/protocol/openid-connect/certs" }

    private init(server: DevIdPServer, started: DevIdPServer.Started, keys: SigningKeys) {
        self.server = server
        self.started = started
        self.keys = keys
    }

    static func start(_ realm: Realm? = nil, testAdmin: Bool = false, tokenLifespan: Int? = nil,
                      keys: SigningKeys? = nil) async throws -> RunningIdP {
        let keys = try keys ?? SigningKeys(keys: [sharedKey])
        let server = DevIdPServer(configuration: .init(realm: try realm ?? devRealm(), host: "127.0.0.1", port: 0, keys: keys,
                                                       tokenLifespan: tokenLifespan, testAdmin: testAdmin))
        return RunningIdP(server: server, started: try await server.start(), keys: keys)
    }

    func stop() async {
        try? await client.shutdown()
        await server.stop()
    }

    func request(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(10))
        var collected = try await response.body.collect(upTo: 1 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers,
                          body: collected.readBytes(length: collected.readableBytes) ?? [])
    }

    func get(_ url: String) async throws -> HTTPAnswer { try await request(.GET, url) }

    /// POSTs a form to the token endpoint.
    func token(_ form: [(String, String)], headers: [(String, String)] = []) async throws -> HTTPAnswer {
        try await request(.POST, tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                          body: Array(formEncode(form).utf8))
    }

    func passwordGrant(_ username: String, _ password: String, clientId: String = "portcullis-cli",
                       extra: [(String, String)] = []) async throws -> HTTPAnswer {
        try await token([("grant_type", "password"), ("client_id", clientId), ("username", username), ("password", password)] + extra)
    }

    /// Verifies `token` as the gateway would: keys from the served JWKS, issuer and audience checked.
    func verify(_ token: String, audience: String? = "portcullis") async throws -> VerifiedJWT {
        let jwks = try await get(certsURL)
        let keySet = try JWKS.parse(json: jwks.text)
        let verifier = JWTVerifier(keys: keySet, allowedAlgorithms: [.rs256],
                                   claims: ClaimsPolicy(issuer: issuer, audiences: audience.map { .oneOf([$0]) } ?? .any))
        return try verifier.verify(token)
    }
}

func formEncode(_ pairs: [(String, String)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return pairs.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
        .joined(separator: "&")
}

func basic(_ id: String, _ secret: String) -> (String, String) {
    ("Authorization", "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString())
}

extension JSONValue {
    var strings: [String] { arrayValue?.compactMap(\.stringValue) ?? [] }
}

/// Runs `body` against a dev issuer on a free port, stopped afterwards whatever happens.
func withIdP(_ realm: Realm? = nil, testAdmin: Bool = false, tokenLifespan: Int? = nil,
             _ body: (RunningIdP) async throws -> Void) async throws {
    let idp = try await RunningIdP.start(realm, testAdmin: testAdmin, tokenLifespan: tokenLifespan)
    do {
        try await body(idp)
    } catch {
        await idp.stop()
        throw error
    }
    await idp.stop()
}
