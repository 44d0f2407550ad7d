import DevIdP
import Foundation
import JOSE
import Testing

@Suite("Test admin API")
struct TestAdminTests {
    @Test func rotationKeepsTheOldKeyPublishedUntilRetired() async throws {
        try await withIdP(testAdmin: true) { idp in
            let before = try #require(try await idp.passwordGrant("viewer", "viewer-dev-password").json["access_token"]?.stringValue)
            let oldKid = idp.keys.signing.kid

            let rotated = try await idp.request(.POST, idp.base + "/admin/test/rotate-key")
            #expect(rotated.status == 200)
            let newKid = try #require(rotated.json["kid"]?.stringValue)
            #expect(newKid != oldKid && rotated.json["previous_kid"]?.stringValue == oldKid)
            let published = try await idp.get(idp.certsURL).json["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue }
            #expect(published == [newKid, oldKid])

            // Old tokens still verify; new ones are signed with the new key.
            _ = try await idp.verify(before)
            let after = try #require(try await idp.passwordGrant("viewer", "viewer-dev-password").json["access_token"]?.stringValue)
            #expect(try await idp.verify(after).keyID == newKid)

            let retired = try await idp.request(.POST, idp.base + "/admin/test/rotate-key?retire=true")
            let newest = try #require(retired.json["kid"]?.stringValue)
            let remaining = try await idp.get(idp.certsURL).json["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue }
            #expect(remaining == [newest])
            await #expect(throws: JOSEError.self) { _ = try await idp.verify(before) }
        }
    }

    @Test func jwksCanBeMadeToFailAndToBeSlow() async throws {
        try await withIdP(testAdmin: true) { idp in
            let fail = try await idp.request(.POST, idp.base + "/admin/test/jwks", body: Array(#"{"mode": "fail", "status": 503}"#.utf8))
            #expect(fail.status == 200)
            #expect(try await idp.get(idp.certsURL).status == 503)

            _ = try await idp.request(.POST, idp.base + "/admin/test/jwks", body: Array(#"{"mode": "slow", "delay_ms": 300}"#.utf8))
            let started = Date()
            let slow = try await idp.get(idp.certsURL)
            #expect(slow.status == 200 && Date().timeIntervalSince(started) >= 0.3)

            _ = try await idp.request(.POST, idp.base + "/admin/test/jwks", body: Array(#"{"mode": "ok"}"#.utf8))
            #expect(try await idp.get(idp.certsURL).status == 200)
            let state = try await idp.get(idp.base + "/admin/test/state").json
            #expect(state["jwks"]?["mode"] == "ok" && state["jwks_requests"] == 3)
            #expect(state["signing_kid"]?.stringValue == idp.keys.signing.kid)
        }
    }

    @Test(arguments: [#"{"mode": "broken"}"#, #"{"mode": "fail", "status": 200}"#, #"{"mode": "slow", "delay_ms": -1}"#,
                      #"{"mode": "ok", "extra": 1}"#, "not json"])
    func invalidJWKSModeIsRefusedAndChangesNothing(_ body: String) async throws {
        try await withIdP(testAdmin: true) { idp in
            let answer = try await idp.request(.POST, idp.base + "/admin/test/jwks", body: Array(body.utf8))
            #expect(answer.status == 400 && answer.json["error"] == "invalid_request")
            #expect(try await idp.get(idp.certsURL).status == 200)
        }
    }

    @Test func adminEndpointsAreAbsentWithoutTheFlag() async throws {
        try await withIdP(testAdmin: false) { idp in
            let kid = idp.keys.signing.kid
            let rotate = try await idp.request(.POST, idp.base + "/admin/test/rotate-key")
            let jwks = try await idp.request(.POST, idp.base + "/admin/test/jwks", body: Array(#"{"mode":"fail"}"#.utf8))
            let state = try await idp.get(idp.base + "/admin/test/state")
            #expect([rotate.status, jwks.status, state.status] == [404, 404, 404] as [Int])
            #expect(idp.keys.signing.kid == kid)
            let health = try await idp.get(idp.base + "/healthz")
            #expect(health.status == 200)
        }
    }
}

@Suite("Forms and secrets")
struct FormAndSecretTests {
    @Test func keysFromAFileKeepTheirKidAcrossRestarts() throws {
        let first = try SigningKeys(keys: [sharedKey])
        let second = try SigningKeys(keys: [try PrivateKey.pem(sharedKey.pem())])
        #expect(first.signing.kid == second.signing.kid)
        #expect(throws: JOSEError.self) { try SigningKeys(keys: [try PrivateKey.generate(.ec(.p256))]) }
    }

    @Test func additionalKeysArePublishedButDoNotSign() throws {
        let extra = try PrivateKey.generate(.rsa(bits: 2048))
        let keys = try SigningKeys(keys: [sharedKey, extra])
        #expect(keys.publishedKeyIDs.count == 2 && keys.publishedKeyIDs[0] == keys.signing.kid)
        #expect(keys.jwks()["keys"]?.arrayValue?.count == 2)
    }
}
