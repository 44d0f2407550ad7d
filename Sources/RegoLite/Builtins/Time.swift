import Foundation

/// `time.*` on nanoseconds since the Unix epoch (UTC unless a zone is given).
/// Civil-date arithmetic follows Go's `time` package (AddDate normalises overflowing days);
/// layouts for `time.parse_ns` / `time.format` are Go's (see `GoTimeLayout`).
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
        r.add("time.parse_ns", 2) { _, a in
            let layout = try a.string(0), value = try a.string(1)
            let t: (secs: Int64, nanos: Int64)
            do { t = try GoTimeLayout(GoTimeLayout.named[layout] ?? layout).parse(value) }
            catch { throw BuiltinError.builtin("parsing time \(JSONWriter.quote(value)) as \(JSONWriter.quote(layout)): cannot parse") }
            guard let ns = combine(t.secs, t.nanos) else { throw BuiltinError.builtin("time outside of valid range") }
            return .number(.int(ns))
        }
        r.add("time.format", 1) { _, a in
            let z = try zonedArg(a[0])
            let offset = z.zone.map { $0.secondsFromGMT(for: Date(timeIntervalSince1970: Double(TimeBuiltins.floorDiv(z.ns, 1_000_000_000)))) } ?? 0
            return .string(try GoTimeLayout(GoTimeLayout.named[z.layout] ?? z.layout).format(ns: z.ns, offset: offset, zoneIsUTC: z.zone == nil))
        }
        r.add("time.diff", 2) { _, a in
            let z1 = try zonedArg(a[0]), z2 = try zonedArg(a[1])
            // Both instants in the first one's zone, earlier first (OPA's algorithm, from icza/gox).
            func off(_ ns: Int64) -> Int { z1.zone.map { $0.secondsFromGMT(for: Date(timeIntervalSince1970: Double(TimeBuiltins.floorDiv(ns, 1_000_000_000)))) } ?? 0 }
            let (lo, hi) = z1.ns <= z2.ns ? (z1.ns, z2.ns) : (z2.ns, z1.ns)
            let c1 = civil(lo, off(lo)), c2 = civil(hi, off(hi))
            var year = c2.y - c1.y, month = c2.m - c1.m, day = c2.d - c1.d
            var hour = c2.h - c1.h, minute = c2.mi - c1.mi, second = c2.s - c1.s
            if second < 0 { second += 60; minute -= 1 }
            if minute < 0 { minute += 60; hour -= 1 }
            if hour < 0 { hour += 24; day -= 1 }
            if day < 0 { day += GoTimeLayout.daysIn(c1.m, c1.y); month -= 1 }
            if month < 0 { month += 12; year -= 1 }
            return .array([year, month, day, hour, minute, second].map { .int($0) })
        }
        r.add("time.parse_duration_ns", 1) { _, a in
            let s = try a.string(0)
            guard let ns = parseDuration(s) else { throw BuiltinError.builtin("time: invalid duration \(JSONWriter.quote(s))") }
            return .number(.int(ns))
        }
    }

    /// `secs * 1e9 + nanos` when it fits in Int64 (nanos in 0..<1e9).
    static func combine(_ secs: Int64, _ nanos: Int64) -> Int64? {
        let (r1, o1) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        if o1 {
            // Int64.min is reachable only through a negative second count plus a fraction.
            let (r0, o0) = (secs + 1).multipliedReportingOverflow(by: 1_000_000_000)
            if !o0 { let (r3, o3) = r0.addingReportingOverflow(nanos - 1_000_000_000); if !o3 { return r3 } }
            return nil
        }
        let (r2, o2) = r1.addingReportingOverflow(nanos)
        return o2 ? nil : r2
    }

    /// `time.format`'s and `time.diff`'s operand: ns, `[ns]`, `[ns, tz]` or `[ns, tz, layout]`.
    /// A nil zone is UTC.
    static func zonedArg(_ v: Value) throws -> (ns: Int64, zone: TimeZone?, layout: String) {
        let typeErr = BuiltinError.type("operand 1 must be either number (ns) or [number (ns), string (tz)] but got \(v.typeName)")
        var nv: Value = v, zone: TimeZone?, layout = "2006-01-02T15:04:05.999999999Z07:00"
        switch v {
        case .number: break
        case .array(let xs):
            guard !xs.isEmpty else { throw typeErr }
            nv = xs[0]
            if xs.count > 1 {
                guard case .string(let tz) = xs[1] else { throw typeErr }
                switch tz {
                case "", "UTC": break
                case "Local": zone = TimeZone.current
                default:
                    guard let z = TimeZone(identifier: tz) else { throw BuiltinError.builtin("unknown time zone \(tz)") }
                    zone = z
                }
            }
            if xs.count > 2 { guard case .string(let l) = xs[2] else { throw typeErr }; layout = l }
        default: throw typeErr
        }
        guard case .number(let n) = nv else { throw typeErr }
        guard case .int(let ns) = n else { throw BuiltinError.builtin("timestamp too big") }
        if let z = zone, z.secondsFromGMT() == 0, z.identifier == "UTC" || z.identifier == "GMT" { zone = nil }
        return (ns, zone, layout)
    }

    /// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units ns, us, µs, μs, ms, s, m, h.
    static func parseDuration(_ str: String) -> Int64? {
        var s = Substring(str)
        var neg = false
        if let c = s.first, c == "-" || c == "+" { neg = c == "-"; s.removeFirst() }
        if s == "0" { return 0 }
        if s.isEmpty { return nil }
        let units: [(String, UInt64)] = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000),
                                         ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        var total: UInt64 = 0
        while !s.isEmpty {
            guard let c = s.first, c == "." || c.isASCII && c.isNumber else { return nil }
            var v: UInt64 = 0, pre = false
            while let c = s.first, c.isASCII, c.isNumber {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (n, o2) = m.addingReportingOverflow(UInt64(c.asciiValue! - 48))
                if o1 || o2 || n > 1 << 63 { return nil }
                v = n; pre = true; s.removeFirst()
            }
            var f: UInt64 = 0, scale = 1.0, post = false
            if s.first == "." {
                s.removeFirst()
                var overflow = false
                while let c = s.first, c.isASCII, c.isNumber {
                    if !overflow {
                        if f > (UInt64(1) << 63 - 1) / 10 { overflow = true }
                        else { f = f * 10 + UInt64(c.asciiValue! - 48); scale *= 10 }
                    }
                    post = true; s.removeFirst()
                }
            }
            guard pre || post else { return nil }
            let unitStr = s.prefix { !($0 == "." || $0.isASCII && $0.isNumber) }
            guard !unitStr.isEmpty, let unit = units.first(where: { $0.0 == String(unitStr) })?.1 else { return nil }
            s.removeFirst(unitStr.count)
            let (m, o) = v.multipliedReportingOverflow(by: unit)
            if o || m > 1 << 63 { return nil }
            v = m
            if f > 0 {
                v += UInt64(Double(f) * (Double(unit) / scale))
                if v > 1 << 63 { return nil }
            }
            total += v
            if total > 1 << 63 { return nil }
        }
        if neg { return total == 1 << 63 ? Int64.min : -Int64(total) }
        if total > UInt64(Int64.max) { return nil }
        return Int64(total)
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
