import Foundation

/// `time.*` on nanoseconds since the Unix epoch (UTC unless a zone is given).
/// Civil-date arithmetic follows Go's `time` package (AddDate normalises overflowing days).
enum TimeBuiltins {
    static func register(into r: inout BuiltinRegistry) {
        r.add("time.now_ns", 0, nondeterministic: true) { ctx, _ in .number(.int(ctx.nowNs)) }
        r.add("time.parse_rfc3339_ns", 1) { _, a in
            let s = try a.string(0)
            guard let ns = parseRFC3339(s) else { throw BuiltinError.builtin("parsing time \(JSONWriter.quote(s)) as \"2006-01-02T15:04:05Z07:00\": cannot parse") }
            if case .dec(let d) = ns, d.isNaN { throw BuiltinError.builtin("time outside of valid range") }
            return .number(ns)
        }
        r.add("time.date", 1) { _, a in
            let (ns, off) = try nsArg(a)
            let c = civil(ns, off)
            return .array([.int(c.y), .int(c.m), .int(c.d)])
        }
        r.add("time.clock", 1) { _, a in
            let (ns, off) = try nsArg(a)
            let c = civil(ns, off)
            return .array([.int(c.h), .int(c.mi), .int(c.s)])
        }
        r.add("time.weekday", 1) { _, a in
            let (ns, off) = try nsArg(a)
            let days = floorDiv(floorDiv(ns, 1_000_000_000) + Int64(off), 86400)
            let names = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"]
            return .string(names[Int(((days % 7) + 7) % 7)])
        }
        r.add("time.add_date", 4) { _, a in
            guard case .number(let n) = a[0], case .int(let ns) = n.rounded(.down) else { throw a.typeErr(0, "number") }
            let dy = try a.int(1), dm = try a.int(2), dd = try a.int(3)
            let c = civil(ns, 0)
            var y = c.y + dy, m = c.m + dm
            y += Int(floorDiv(Int64(m - 1), 12)); m = Int(((Int64(m - 1) % 12) + 12) % 12) + 1
            let days = daysFromCivil(y, m, 1) + Int64(c.d - 1 + dd)
            let secs = days * 86400 + Int64(c.h * 3600 + c.mi * 60 + c.s)
            let frac = ((ns % 1_000_000_000) + 1_000_000_000) % 1_000_000_000
            let (r1, o1) = secs.multipliedReportingOverflow(by: 1_000_000_000)
            if o1 || y < 1678 || y > 2262 { throw BuiltinError.builtin("time outside of valid range") }
            let (r2, o2) = r1.addingReportingOverflow(frac)
            if o2 { throw BuiltinError.builtin("time outside of valid range") }
            return .number(.int(r2))
        }
    }

    static func nsArg(_ a: [Value]) throws -> (Int64, Int) {
        switch a[0] {
        case .number(let n):
            guard case .int(let v) = n.rounded(.down) else { throw BuiltinError.builtin("timestamp too big") }
            return (v, 0)
        case .array(let x):
            guard x.count == 2, case .number(let n) = x[0], case .int(let v) = n.rounded(.down) else { throw BuiltinError.type("operand 1 must be one of {number, array[number, string]} but got array") }
            guard case .string(let tz) = x[1] else { throw BuiltinError.type("operand 1 must be one of {number, array[number, string]} but got array") }
            if tz == "" || tz == "UTC" { return (v, 0) }
            if tz == "Local" { return (v, TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: Double(v) / 1e9))) }
            guard let zone = TimeZone(identifier: tz) else { throw BuiltinError.builtin("unknown time zone \(tz)") }
            return (v, zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(v) / 1e9)))
        default: throw a.typeErr(0, "one of {number, array}")
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { let q = a / b; return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q }

    struct Civil { var y: Int, m: Int, d: Int, h: Int, mi: Int, s: Int }

    static func civil(_ ns: Int64, _ offset: Int) -> Civil {
        let secs = floorDiv(ns, 1_000_000_000) + Int64(offset)
        let days = floorDiv(secs, 86400)
        let rem = Int(secs - days * 86400)
        let (y, m, d) = civilFromDays(days)
        return Civil(y: y, m: m, d: d, h: rem / 3600, mi: (rem % 3600) / 60, s: rem % 60)
    }

    // Howard Hinnant's algorithms.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((m + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    static func parseRFC3339(_ s: String) -> Number? {
        let u = Array(s.utf8)
        func num(_ i: Int, _ n: Int) -> Int? {
            guard i + n <= u.count else { return nil }
            var v = 0
            for j in i..<(i + n) { guard u[j] >= 48 && u[j] <= 57 else { return nil }; v = v * 10 + Int(u[j] - 48) }
            return v
        }
        guard u.count >= 20, let y = num(0, 4), u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2),
              u[10] == 84 || u[10] == 116, let h = num(11, 2), u[13] == 58, let mi = num(14, 2), u[16] == 58, let sec = num(17, 2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= 31, h < 24, mi < 60, sec < 60 else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < u.count, u[i] == 46 {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48 && u[i] <= 57 {
                if digits < 9 { frac = frac * 10 + Int64(u[i] - 48) }
                digits += 1; i += 1
            }
            if digits == 0 { return nil }
            for _ in 0..<max(0, 9 - digits) { frac *= 10 }
        }
        guard i < u.count else { return nil }
        var off = 0
        if u[i] == 90 || u[i] == 122 { i += 1 }
        else if u[i] == 43 || u[i] == 45 {
            guard let oh = num(i + 1, 2), u.count > i + 3, u[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
            off = (oh * 3600 + om * 60) * (u[i] == 45 ? -1 : 1)
            i += 6
        } else { return nil }
        guard i == u.count else { return nil }
        let days = daysFromCivil(y, mo, d)
        let secs = days * 86400 + Int64(h * 3600 + mi * 60 + sec) - Int64(off)
        let (r1, o1) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        if o1 {
            // Int64.min is reachable only through a negative second count plus a fraction.
            let (r0, o0) = (secs + 1).multipliedReportingOverflow(by: 1_000_000_000)
            if !o0 { let (r3, o3) = r0.addingReportingOverflow(frac - 1_000_000_000); if !o3 { return .int(r3) } }
            return .dec(Decimal.nan)
        }
        let (r2, o2) = r1.addingReportingOverflow(frac)
        if o2 { return .dec(Decimal.nan) }
        return .int(r2)
    }
}
