import Foundation
import Testing
@testable import GatewayConfig

/// The root routes.yaml loads, and its routes are the ones the default policy knows.
@Suite struct RepositoryConfigTests {
    @Test func rootRoutesFileLoads() throws {
        let path = repositoryRoot.appendingPathComponent("routes.yaml").path
        let config = try ConfigLoader.load(path: path, environment: [:])
        #expect(config.routes.map(\.id) == ["devices", "commands", "ingest", "analytics", "notifications", "ws-hub", "auth"])
        #expect(config.issuers.map(\.issuer) == ["http://127.0.0.1:8180/realms/systemupdate"])
        #expect(config.issuers.first?.audiences == ["portcullis"])
        #expect(config.issuers.first?.algorithms == ["RS256"])
        #expect(config.policy.directory == repositoryRoot.appendingPathComponent("rego-lite/policies").path)
        #expect(config.routes.first { $0.id == "auth" }?.auth.mode == .public)
        #expect(config.routes.first { $0.id == "ws-hub" }?.websocket?.tokenQuery == "access_token")
        let ports = Dictionary(uniqueKeysWithValues: config.routes.map { ($0.id, $0.upstream.urls) })
        #expect(ports == ["devices": ["http://127.0.0.1:9101"], "commands": ["http://127.0.0.1:9102"],
                          "ingest": ["http://127.0.0.1:9103"], "analytics": ["http://127.0.0.1:9104"],
                          "notifications": ["http://127.0.0.1:9105"], "auth": ["http://127.0.0.1:9106"],
                          "ws-hub": ["http://127.0.0.1:9107"]])
    }

    @Test func routesMatchThePolicysPrefixes() throws {
        let config = try ConfigLoader.load(path: repositoryRoot.appendingPathComponent("routes.yaml").path, environment: [:])
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("rego-lite/policies/systemupdate/data.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let policyRoutes = try #require(json["routes"] as? [String: Any])
        #expect(Set(policyRoutes.keys) == Set(config.routes.map(\.id)))
        for route in config.routes {
            let entry = try #require(policyRoutes[route.id] as? [String: Any])
            let prefixes = try #require(entry["prefixes"] as? [[String]]).map { "/" + $0.joined(separator: "/") }
            #expect(route.match.paths == prefixes.map { .prefix($0) }, "route \(route.id)")
            #expect(route.stripPrefix == "/api")
        }
    }

    @Test func docsExampleLoads() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/ROUTES.md"), encoding: .utf8)
        #expect(doc.hasPrefix("# routes.yaml") && doc.contains("```sh\nportcullis config check routes.yaml\n```"))
        let blocks = doc.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 1)
        let config = try parse(try #require(blocks.first), source: "/srv/gw/routes.yaml")
        #expect(config.routes.map(\.id) == ["orders", "orders-admin", "live", "docs"])
        #expect(config.routes[1].upstream == config.routes[0].upstream)
        #expect(config.routes[3].policy.mode == .off)
    }
}
