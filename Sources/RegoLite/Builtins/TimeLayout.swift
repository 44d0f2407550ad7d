import Foundation

/// Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`) for `time.parse_ns` and
/// `time.format`, following `time.Parse` and `Time.Format`. Zone abbreviations (`MST`) are
/// parsed as Go does (unknown names get offset 0, `GMT+h` its offset) but only formatted for
/// UTC: Foundation does not know tzdata's abbreviations, so other zones are refused.
struct GoTimeLayout {
    enum Chunk: Equatable {
        case literal(String)
        case year4, year2, month, zeroMonth, monthShort, monthLong, day, zeroDay, spaceDay, yearDay, zeroYearDay, spaceYearDay
        case weekdayShort, weekdayLong, hour, hour12, zeroHour12, minute, zeroMinute, second, zeroSecond, pmUpper, pmLower, zoneName
        /// Numeric offset; `z` allows `Z` for UTC; `colon` separates; `seconds` includes seconds; `hoursOnly` for `-07`.
        case offset(z: Bool, colon: Bool, seconds: Bool, hoursOnly: Bool)
        /// Fractional seconds: `digits` places, `trim` for `9`s, `sep` `.` or `,`.
        case fraction(digits: Int, trim: Bool, sep: Character)
    }

    static let named: [String: String] = [
        "ANSIC": "Mon Jan _2 15:04:05 2006", "UnixDate": "Mon Jan _2 15:04:05 MST 2006", "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
        "RFC822": "02 Jan 06 15:04 MST", "RFC822Z": "02 Jan 06 15:04 -0700", "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
        "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST", "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700", "RFC3339": "2006-01-02T15:04:05Z07:00",
        "RFC3339Nano": "2006-01-02T15:04:05.999999999Z07:00", "Kitchen": "3:04PM", "Stamp": "Jan _2 15:04:05",
        "StampMilli": "Jan _2 15:04:05.000", "StampMicro": "Jan _2 15:04:05.000000", "StampNano": "Jan _2 15:04:05.000000000",
        "DateTime": "2006-01-02 15:04:05", "DateOnly": "2006-01-02", "TimeOnly": "15:04:05",
    ]
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    let chunks: [Chunk]

    init(_ layout: String) {
        let l = Array(layout)
        var out: [Chunk] = []
        var lit = ""
        var i = 0
        func has(_ s: String, at j: Int) -> Bool {
            let c = Array(s); return j + c.count <= l.count && Array(l[j..<(j + c.count)]) == c
        }
        func isDigit(_ j: Int) -> Bool { j < l.count && l[j].isASCII && l[j].isNumber }
        // Longest match first, in the order of Go's `nextStdChunk`.
        let table: [(String, Chunk)] = [
            ("January", .monthLong), ("Jan", .monthShort), ("Monday", .weekdayLong), ("Mon", .weekdayShort), ("MST", .zoneName),
            ("01", .zeroMonth), ("02", .zeroDay), ("03", .zeroHour12), ("04", .zeroMinute), ("05", .zeroSecond), ("06", .year2), ("002", .zeroYearDay),
            ("15", .hour), ("1", .month), ("2006", .year4), ("2", .day), ("__2", .spaceYearDay), ("_2", .spaceDay),
            ("3", .hour12), ("4", .minute), ("5", .second), ("PM", .pmUpper), ("pm", .pmLower),
            ("-07:00:00", .offset(z: false, colon: true, seconds: true, hoursOnly: false)), ("-070000", .offset(z: false, colon: false, seconds: true, hoursOnly: false)),
            ("-07:00", .offset(z: false, colon: true, seconds: false, hoursOnly: false)), ("-0700", .offset(z: false, colon: false, seconds: false, hoursOnly: false)),
            ("-07", .offset(z: false, colon: false, seconds: false, hoursOnly: true)),
            ("Z07:00:00", .offset(z: true, colon: true, seconds: true, hoursOnly: false)), ("Z070000", .offset(z: true, colon: false, seconds: true, hoursOnly: false)),
            ("Z07:00", .offset(z: true, colon: true, seconds: false, hoursOnly: false)), ("Z0700", .offset(z: true, colon: false, seconds: false, hoursOnly: false)),
            ("Z07", .offset(z: true, colon: false, seconds: false, hoursOnly: true)),
        ]
        outer: while i < l.count {
            let c = l[i]
            if (c == "." || c == ","), i + 1 < l.count, l[i + 1] == "0" || l[i + 1] == "9" {
                let d = l[i + 1]
                var j = i + 1
                while j < l.count && l[j] == d { j += 1 }
                if !isDigit(j) {
                    if !lit.isEmpty { out.append(.literal(lit)); lit = "" }
                    out.append(.fraction(digits: j - i - 1, trim: d == "9", sep: c))
                    i = j; continue
                }
            }
            // "_2006" is a literal underscore followed by the year, as in Go.
            if c == "_", has("_2006", at: i) { lit.append("_"); i += 1; continue }
            for (s, chunk) in table where has(s, at: i) {
                // "Jan"/"Mon" etc. are only chunks when not followed by a lower-case letter (Go's rule for "Mon").
                if (chunk == .weekdayShort || chunk == .monthShort) && i + 3 < l.count && l[i + 3].isLowercase && s.count == 3 {
                    if chunk == .weekdayShort && !has("Monday", at: i) { break }
                    if chunk == .monthShort && !has("January", at: i) { break }
                }
                if !lit.isEmpty { out.append(.literal(lit)); lit = "" }
                out.append(chunk)
                i += s.count
                continue outer
            }
            lit.append(c); i += 1
        }
        if !lit.isEmpty { out.append(.literal(lit)) }
        chunks = out
    }

    enum Failure: Error { case syntax, range }

    /// Seconds since the epoch and nanoseconds, as `time.Parse` reads `value`.
    func parse(_ value: String) throws -> (secs: Int64, nanos: Int64) {
        var v = Substring(value)
        var year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos: Int64 = 0, yday = -1
        var pm: Bool?, offset: Int?
        func num(_ fixed: Bool, maxDigits: Int = 2) throws -> Int {
            var n = 0, k = 0
            while k < maxDigits, let c = v.first, c.isASCII, c.isNumber { n = n * 10 + Int(c.asciiValue! - 48); v.removeFirst(); k += 1 }
            if k == 0 || (fixed && k != maxDigits) { throw Failure.syntax }
            return n
        }
        func name(_ list: [String], short: Bool) throws -> Int {
            for (i, full) in list.enumerated() {
                let n = short ? String(full.prefix(3)) : full
                if v.count >= n.count, v.prefix(n.count).lowercased() == n.lowercased() { v.removeFirst(n.count); return i }
            }
            throw Failure.syntax
        }
        for (ci, chunk) in chunks.enumerated() {
            switch chunk {
            case .literal(let s):
                guard v.hasPrefix(s) else { throw Failure.syntax }
                v.removeFirst(s.count)
            case .year4:
                guard v.count >= 4 else { throw Failure.syntax }
                year = try num(true, maxDigits: 4)
            case .year2:
                year = try num(true); year += year >= 69 ? 1900 : 2000
            case .month, .zeroMonth:
                month = try num(chunk == .zeroMonth)
                guard (1...12).contains(month) else { throw Failure.range }
            case .monthShort: month = try name(GoTimeLayout.months, short: true) + 1
            case .monthLong: month = try name(GoTimeLayout.months, short: false) + 1
            case .weekdayShort: _ = try name(GoTimeLayout.weekdays, short: true)
            case .weekdayLong: _ = try name(GoTimeLayout.weekdays, short: false)
            case .day, .zeroDay, .spaceDay:
                if chunk == .spaceDay, v.first == " " { v.removeFirst() }
                day = try num(chunk == .zeroDay)
            case .yearDay, .zeroYearDay, .spaceYearDay:
                if chunk == .spaceYearDay { while v.first == " " { v.removeFirst() } }
                yday = try num(chunk == .zeroYearDay, maxDigits: 3)
                guard (1...366).contains(yday) else { throw Failure.range }
            case .hour:
                hour = try num(false); guard hour < 24 else { throw Failure.range }
            case .hour12, .zeroHour12:
                hour = try num(chunk == .zeroHour12); guard hour <= 12 else { throw Failure.range }
            case .minute, .zeroMinute:
                minute = try num(chunk == .zeroMinute); guard minute < 60 else { throw Failure.range }
            case .second, .zeroSecond:
                second = try num(chunk == .zeroSecond); guard second < 60 else { throw Failure.range }
                // A fraction after the seconds is accepted even when the layout has none.
                if let c = v.first, c == "." || c == ",", v.count >= 2, v[v.index(after: v.startIndex)].isNumber {
                    if ci + 1 < chunks.count, case .fraction = chunks[ci + 1] { break }
                    v.removeFirst()
                    nanos = try fraction(&v, exactly: nil)
                }
            case .fraction(let digits, let trim, _):
                if trim {
                    guard v.count >= 2, let c = v.first, c == "." || c == ",", v.dropFirst().first?.isNumber == true else { break }
                    v.removeFirst()
                    nanos = try fraction(&v, exactly: nil)
                } else {
                    guard let c = v.first, c == "." || c == "," else { throw Failure.syntax }
                    v.removeFirst()
                    nanos = try fraction(&v, exactly: digits)
                }
            case .pmUpper, .pmLower:
                let p = v.prefix(2).uppercased()
                guard p == "PM" || p == "AM" else { throw Failure.syntax }
                pm = p == "PM"; v.removeFirst(2)
            case .offset(let z, let colon, let seconds, let hoursOnly):
                if z, v.first == "Z" { v.removeFirst(); offset = 0; break }
                guard let sign = v.first, sign == "+" || sign == "-" else { throw Failure.syntax }
                v.removeFirst()
                let h = try num(true)
                var m = 0, s = 0
                if !hoursOnly {
                    if colon { guard v.first == ":" else { throw Failure.syntax }; v.removeFirst() }
                    m = try num(true)
                    if seconds {
                        if colon { guard v.first == ":" else { throw Failure.syntax }; v.removeFirst() }
                        s = try num(true)
                    }
                }
                guard h < 24, m < 60, s < 60 else { throw Failure.range }
                offset = (h * 3600 + m * 60 + s) * (sign == "-" ? -1 : 1)
            case .zoneName:
                // Go's `parseTimeZone`; a name the (UTC) local zone does not know gets offset 0,
                // except `GMT+h`.
                if v.hasPrefix("UTC") { v.removeFirst(3); offset = 0; break }
                if v.hasPrefix("ChST") || v.hasPrefix("MeST") { v.removeFirst(4); offset = 0; break }
                func signedOffset() -> Int? {
                    guard let sign = v.first, sign == "+" || sign == "-" else { return nil }
                    let digits = v.dropFirst().prefix { $0.isASCII && $0.isNumber }
                    guard !digits.isEmpty, digits.count < 10, let x = Int(digits), x <= 12 else { return nil }
                    v.removeFirst(1 + digits.count)
                    return sign == "-" ? -x : x
                }
                if v.hasPrefix("GMT") { v.removeFirst(3); offset = (signedOffset() ?? 0) * 3600; break }
                if v.first == "+" || v.first == "-" { guard signedOffset() != nil else { throw Failure.syntax }; offset = 0; break }
                let upper = Array(v.prefix(6).prefix { $0.isASCII && $0.isUppercase })
                let n: Int
                switch upper.count {
                case 3: n = 3
                case 4 where upper[3] == "T" || String(upper) == "WITA": n = 4
                case 5 where upper[4] == "T": n = 5
                default: throw Failure.syntax
                }
                v.removeFirst(n)
                offset = 0
            }
        }
        guard v.isEmpty else { throw Failure.syntax }
        if let pm {
            if pm && hour < 12 { hour += 12 } else if !pm && hour == 12 { hour = 0 }
        }
        if yday >= 0 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            guard yday <= (leap ? 366 : 365) else { throw Failure.range }
            let (_, m, d) = TimeBuiltins.civilFromDays(TimeBuiltins.daysFromCivil(year, 1, 1) + Int64(yday - 1))
            month = m; day = d
        }
        guard day >= 1, day <= GoTimeLayout.daysIn(month, year) else { throw Failure.range }
        let secs = TimeBuiltins.daysFromCivil(year, month, day) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset ?? 0)
        return (secs, nanos)
    }

    /// Digits of a fraction after its separator, as nanoseconds (Go keeps the first nine).
    func fraction(_ v: inout Substring, exactly: Int?) throws -> Int64 {
        var digits = 0, n: Int64 = 0
        while let c = v.first, c.isASCII, c.isNumber {
            if let e = exactly, digits == e { break }
            if digits < 9 { n = n * 10 + Int64(c.asciiValue! - 48) }
            digits += 1; v.removeFirst()
        }
        if let e = exactly, digits != e { throw Failure.syntax }
        if digits == 0 { throw Failure.syntax }
        for _ in 0..<max(0, 9 - digits) { n *= 10 }
        return n
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        if month == 2 { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28 }
        return [4, 6, 9, 11].contains(month) ? 30 : 31
    }

    /// `Time.Format` for an instant `ns` shown at `offset` seconds east of UTC.
    func format(ns: Int64, offset: Int, zoneIsUTC: Bool) throws -> String {
        let c = TimeBuiltins.civil(ns, offset)
        let frac = Int(((ns % 1_000_000_000) + 1_000_000_000) % 1_000_000_000)
        let days = TimeBuiltins.floorDiv(TimeBuiltins.floorDiv(ns, 1_000_000_000) + Int64(offset), 86400)
        let wd = Int(((days + 4) % 7 + 7) % 7)
        func pad(_ n: Int, _ w: Int, _ ch: Character = "0") -> String {
            let s = String(n); return String(repeating: ch, count: max(0, w - s.count)) + s
        }
        var out = ""
        for (ci, chunk) in chunks.enumerated() {
            switch chunk {
            case .literal(let s): out += s
            case .year4: out += c.y < 0 ? "-" + pad(-c.y, 4) : pad(c.y, 4)
            case .year2: out += pad(((c.y % 100) + 100) % 100, 2)
            case .month: out += String(c.m)
            case .zeroMonth: out += pad(c.m, 2)
            case .monthShort: out += String(GoTimeLayout.months[c.m - 1].prefix(3))
            case .monthLong: out += GoTimeLayout.months[c.m - 1]
            case .day: out += String(c.d)
            case .zeroDay: out += pad(c.d, 2)
            case .spaceDay: out += pad(c.d, 2, " ")
            case .yearDay, .zeroYearDay, .spaceYearDay:
                let yd = Int(TimeBuiltins.daysFromCivil(c.y, c.m, c.d) - TimeBuiltins.daysFromCivil(c.y, 1, 1)) + 1
                out += chunk == .yearDay ? String(yd) : pad(yd, 3, chunk == .zeroYearDay ? "0" : " ")
            case .weekdayShort: out += String(GoTimeLayout.weekdays[wd].prefix(3))
            case .weekdayLong: out += GoTimeLayout.weekdays[wd]
            case .hour: out += pad(c.h, 2)
            case .hour12, .zeroHour12:
                let h = c.h % 12 == 0 ? 12 : c.h % 12
                out += chunk == .hour12 ? String(h) : pad(h, 2)
            case .minute: out += String(c.mi)
            case .zeroMinute: out += pad(c.mi, 2)
            case .second: out += String(c.s)
            case .zeroSecond: out += pad(c.s, 2)
            case .pmUpper: out += c.h >= 12 ? "PM" : "AM"
            case .pmLower: out += c.h >= 12 ? "pm" : "am"
            case .zoneName:
                guard zoneIsUTC else { throw RegoError.unsupported("time zone abbreviations (MST) in time.format layouts for zones other than UTC", nil) }
                out += "UTC"
            case .offset(let z, let colon, let seconds, let hoursOnly):
                if z && offset == 0 { out += "Z"; break }
                let a = abs(offset)
                out += offset < 0 ? "-" : "+"
                out += pad(a / 3600, 2)
                if !hoursOnly {
                    if colon { out += ":" }
                    out += pad((a / 60) % 60, 2)
                }
                if seconds { if colon { out += ":" }; out += pad(a % 60, 2) }
            case .fraction(let digits, let trim, let sep):
                var s = pad(frac, 9)
                s = String(s.prefix(digits))
                if trim {
                    while s.hasSuffix("0") { s.removeLast() }
                    if s.isEmpty { break }
                }
                out += String(sep) + s
            }
            _ = ci
        }
        return out
    }
}
