import Foundation
import Testing
@testable import RegoLite

/// The value of `expr` as compact JSON (sets as sorted arrays), or nil when undefined.
private func value(of expr: String, strict: Bool = false) throws -> String? {
    let policy = try PolicyEngine.compile(modules: [("m.rego", "package t\n")])
    let r = try PreparedQuery(policy: policy, query: "x := \(expr)").eval(input: nil, options: EvalOptions(strictBuiltinErrors: strict))
    return r.first?.bindings["x"].map { JSONWriter.write(ConformanceRunner.jsonShape($0, sortTop: false)) }
}

@Suite struct SemverBuiltinTests {
    @Test(arguments: [
        (#"semver.compare("1.0.0", "2.0.0")"#, "-1"),
        (#"semver.compare("1.10.0", "1.9.0")"#, "1"),
        (#"semver.compare("1.0.0-alpha", "1.0.0")"#, "-1"),
        (#"semver.compare("1.0.0-alpha.1", "1.0.0-alpha.beta")"#, "-1"),
        (#"semver.compare("1.0.0+build.1", "1.0.0+build.2")"#, "0"),
        (#"semver.is_valid("1.2.3-rc.1+sha.5114f85")"#, "true"),
        (#"semver.is_valid("01.2.3")"#, "false"),
        (#"semver.is_valid(1)"#, "false"),
    ])
    func semverFollowsSemVer2Precedence(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }

    @Test func invalidVersionIsABuiltinErrorInStrictMode() {
        #expect(throws: RegoError.self) { try value(of: #"semver.compare("1", "1.0.0")"#, strict: true) }
    }
}

@Suite struct UUIDBuiltinTests {
    @Test(arguments: [
        (#"uuid.parse("00000000-0000-4000-8000-000000000000")"#, #"{"variant":"RFC4122","version":4}"#),
        (#"uuid.parse("6bea8ef2d3d33cd184e09bab06a52ece")"#, #"{"variant":"RFC4122","version":3}"#),
        (#"uuid.parse("urn:uuid:000003e8-48b9-21ee-b200-325096b39f47").id"#, "1000"),
        (#"uuid.parse("000003e8-48b9-21ee-b200-325096b39f47").time"#, "1693566990121469600"),
    ])
    func parseDescribesTheUUID(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }

    @Test func parseOfGarbageIsUndefined() throws {
        #expect(try value(of: #"uuid.parse("not-a-uuid")"#) == nil)
    }

    @Test func rfc4122IsStableForOneKeyWithinAQuery() throws {
        #expect(try value(of: #"count({uuid.rfc4122("k") | numbers.range(1, 10)[_]})"#) == "1")
        let u = try #require(try value(of: #"uuid.rfc4122("k")"#))
        #expect(u.count == 38 && Array(u)[15] == "4")
    }
}

@Suite struct GraphBuiltinTests {
    @Test(arguments: [
        ("[[p, v] | walk([1, {\"a\": 2}], [p, v])]", #"[[[],[1,{"a":2}]],[[0],1],[[1],{"a":2}],[[1,"a"],2]]"#),
        ("[v | walk({\"a\": [3]}, [[\"a\", 0], v])]", "[3]"),
        (#"graph.reachable({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}, {"a"})"#, #"["a","b","c"]"#),
        (#"graph.reachable({"a": null}, ["a"])"#, #"["a"]"#),
        (#"graph.reachable_paths({"a": ["b", "c"], "b": ["c"], "c": []}, {"a"})"#, #"[["a","b","c"],["a","c"]]"#),
        (#"graph.reachable_paths({"a": ["b"], "b": ["a"]}, ["a"])"#, #"[["a","b"]]"#),
    ])
    func graphBuiltinsTraverseLikeOPA(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }
}

@Suite struct JSONPatchBuiltinTests {
    @Test(arguments: [
        (#"json.patch({"a": 1}, [{"op": "add", "path": "/b", "value": 2}])"#, #"{"a":1,"b":2}"#),
        (#"json.patch({"a": [1, 3]}, [{"op": "add", "path": "/a/1", "value": 2}])"#, #"{"a":[1,2,3]}"#),
        (#"json.patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}])"#, #"{"a":[1,2]}"#),
        (#"json.patch({"a": {"b": 1}}, [{"op": "move", "from": "/a/b", "path": "/c"}])"#, #"{"a":{},"c":1}"#),
        (#"json.patch({"a": 1}, [{"op": "replace", "path": "", "value": 2}])"#, "2"),
        (#"json.patch({"s": {"x", "y"}}, [{"op": "remove", "path": "s/x"}])"#, #"{"s":["y"]}"#),
    ])
    func patchAppliesOperationsInOrder(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }

    @Test(arguments: [
        #"json.patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])"#,
        #"json.patch({"a": 1}, [{"op": "add", "path": "/x/y", "value": 2}])"#,
        #"json.patch(["a", "b"], [{"op": "test", "path": "/01", "value": "b"}])"#,
    ])
    func failedOperationMakesThePatchUndefined(expr: String) throws {
        #expect(try value(of: expr) == nil)
    }
}

@Suite struct NetCIDRBuiltinTests {
    @Test(arguments: [
        (#"net.cidr_merge(["192.0.128.0/24", "192.0.129.0/24"])"#, #"["192.0.128.0/23"]"#),
        (#"net.cidr_merge(["192.0.2.112/31", "192.0.2.116/31", "192.0.2.118/31"])"#, #"["192.0.2.112/31","192.0.2.116/30"]"#),
        (#"net.cidr_merge(["fe80::/120", "192.0.2.0/24", "192.0.3.0/24"])"#, #"["192.0.2.0/23","fe80::/120"]"#),
        (#"net.cidr_merge(["::/0", "fe80::1/128"])"#, #"["::/0"]"#),
        (#"net.cidr_expand("10.0.0.1/31")"#, #"["10.0.0.0","10.0.0.1"]"#),
        (#"net.cidr_contains_matches(["10.0.0.0/8", "192.168.0.0/16"], {"a": "10.1.1.1"})"#, #"[[0,"a"]]"#),
    ])
    func cidrSetOperations(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }

    @Test func mergingAnIPv6AddressWithoutPrefixIsAnError() {
        #expect(throws: RegoError.self) { try value(of: #"net.cidr_merge(["fe80::1"])"#, strict: true) }
    }
}

@Suite struct TimeLayoutBuiltinTests {
    @Test(arguments: [
        (#"time.parse_ns("2006-01-02T15:04:05Z07:00", "2017-06-02T19:00:00-07:00")"#, "1496455200000000000"),
        (#"time.parse_ns("01/02 03:04:05PM '06 -0700", "06/02 07:00:00PM '17 -0700")"#, "1496455200000000000"),
        (#"time.parse_ns("RFC822Z", "02 Jun 17 19:00 -0700")"#, "1496455200000000000"),
        (#"time.parse_ns("2006-01-02", "2020-02-29")"#, "1582934400000000000"),
        (#"time.format(1670006453141828752)"#, #""2022-12-02T18:40:53.141828752Z""#),
        (#"time.format([1670006453141828752, "Asia/Kolkata", "RFC1123Z"])"#, #""Sat, 03 Dec 2022 00:10:53 +0530""#),
        (#"time.format([0, "UTC", "Mon Jan _2 3:04PM MST 2006"])"#, #""Thu Jan  1 12:00AM UTC 1970""#),
        (#"time.diff(time.parse_ns("2006-01-02", "2004-02-29"), time.parse_ns("2006-01-02", "2005-03-01"))"#, "[1,0,1,0,0,0]"),
        (#"time.parse_duration_ns("1h30m")"#, "5400000000000"),
        (#"time.parse_duration_ns("-1.5s")"#, "-1500000000"),
    ])
    func goLayoutsParseAndFormat(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }

    @Test(arguments: [#"time.parse_ns("2006-01-02", "2021-02-29")"#, #"time.parse_duration_ns("1x")"#, #"time.parse_ns("2006-01-02", "2021-02-03x")"#])
    func invalidTimesAreUndefined(expr: String) throws {
        #expect(try value(of: expr) == nil)
    }
}

@Suite struct CryptoBuiltinTests {
    @Test(arguments: [
        (#"crypto.md5("")"#, "d41d8cd98f00b204e9800998ecf8427e"),
        (#"crypto.sha1("abc")"#, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (#"crypto.sha256("abc")"#, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (#"crypto.sha384("abc")"#, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (#"crypto.sha512("abc")"#, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (#"crypto.hmac.sha256("The quick brown fox jumps over the lazy dog", "key")"#, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"),
        (#"crypto.hmac.md5("The quick brown fox jumps over the lazy dog", "key")"#, "80070713463e7749b90c2dc24911e275"),
    ])
    func digestsMatchPublishedVectors(expr: String, want: String) throws {
        #expect(try value(of: expr) == "\"\(want)\"")
    }

    @Test func digestOfAMultiBlockMessageMatchesVector() {
        let msg = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Digest.hex(Digest.hash(.sha256, msg)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func hmacEqualComparesWholeStrings() throws {
        #expect(try value(of: #"crypto.hmac.equal("abc", "abc")"#) == "true")
        #expect(try value(of: #"crypto.hmac.equal("abc", "abd")"#) == "false")
    }

    @Test func hs256TokenVerifiesOnlyWithItsSecret() throws {
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiYWxpY2UiLCJhenAiOiJhbGljZSIsInN1Ym9yZGluYXRlcyI6W10sImhyIjpmYWxzZX0.rz3jTY033z-NrKfwrK89_dcLF7TN4gwCMj-fVBDyLoM"
        #expect(try value(of: "io.jwt.verify_hs256(\"\(t)\", \"secret\")") == "true")
        #expect(try value(of: "io.jwt.verify_hs256(\"\(t)\", \"other\")") == "false")
    }
}

@Suite struct StringCountBuiltinTests {
    @Test(arguments: [(#"strings.count("cheese", "e")"#, "3"), (#"strings.count("11111", "11")"#, "2"), (#"strings.count("héllo", "")"#, "6")])
    func countsNonOverlappingOccurrences(expr: String, want: String) throws {
        #expect(try value(of: expr) == want)
    }
}
