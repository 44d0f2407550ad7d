import Foundation
import Testing
@testable import GatewayConfig

/// docs/routes.schema.json (for editors) must describe exactly what the loader accepts.
@Suite struct SchemaTests {
    static func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("docs/routes.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The object schema at a JSON pointer-like path of property names, following `$ref`s into `$defs`.
    static func object(_ path: [String], in root: [String: Any]) throws -> [String: Any] {
        var node = root
        for key in path {
            let properties = try #require(node["properties"] as? [String: Any], "no properties at \(key)")
            node = try unwrap(try #require(properties[key] as? [String: Any], "no property \(key)"), root: root)
        }
        return node
    }

    /// `$ref` followed, an array's items, a oneOf's object alternative.
    static func unwrap(_ node: [String: Any], root: [String: Any]) throws -> [String: Any] {
        var node = try resolve(node, root: root)
        if node["type"] as? String == "array" { node = try unwrap(try #require(node["items"] as? [String: Any]), root: root) }
        if let alternatives = node["oneOf"] as? [[String: Any]],
           let object = try alternatives.map({ try resolve($0, root: root) }).first(where: { $0["type"] as? String == "object" }) {
            node = object
        }
        return node
    }

    static func resolve(_ node: [String: Any], root: [String: Any]) throws -> [String: Any] {
        guard let ref = node["$ref"] as? String else { return node }
        let name = try #require(ref.split(separator: "/").last.map(String.init))
        let defs = try #require(root["$defs"] as? [String: Any])
        return try resolve(try #require(defs[name] as? [String: Any], "missing $defs/\(name)"), root: root)
    }

    static func keys(_ path: [String], in root: [String: Any]) throws -> Set<String> {
        let node = try object(path, in: root)
        #expect(node["additionalProperties"] as? Bool == false, "additionalProperties must be false at \(path)")
        return Set(try #require(node["properties"] as? [String: Any]).keys)
    }

    @Test func isDraft2020JSON() throws {
        let schema = try Self.schema()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["type"] as? String == "object")
    }

    @Test(arguments: [
        ([], ConfigKeys.topLevel),
        (["admin"], ConfigKeys.admin),
        (["limits"], ConfigKeys.limits),
        (["issuers"], ConfigKeys.issuer),
        (["issuers", "cache"], ConfigKeys.issuerCache),
        (["policy"], ConfigKeys.policy),
        (["policy", "git"], ConfigKeys.policyGit),
        (["decision_log"], ConfigKeys.decisionLog),
        (["decision_log", "file"], ConfigKeys.decisionLogFile),
        (["decision_log", "mask"], ConfigKeys.decisionLogMask),
        (["decision_log", "http"], ConfigKeys.decisionLogHTTP),
        (["routes"], ConfigKeys.route),
        (["routes", "match"], ConfigKeys.match),
        (["routes", "upstream"], ConfigKeys.upstream),
        (["routes", "auth"], ConfigKeys.routeAuth),
        (["routes", "policy"], ConfigKeys.routePolicy),
        (["routes", "websocket"], ConfigKeys.websocket),
        (["routes", "limits"], ConfigKeys.routeLimits),
    ])
    func propertiesEqualTheLoadersKeys(path: [String], keys: [String]) throws {
        #expect(try Self.keys(path, in: try Self.schema()) == Set(keys))
    }

    @Test func enumsEqualTheModelsCases() throws {
        let schema = try Self.schema()
        let authMode = try Self.object(["routes", "auth"], in: schema)["properties"] as? [String: Any]
        let policyMode = try Self.object(["routes", "policy"], in: schema)["properties"] as? [String: Any]
        #expect(((authMode?["mode"] as? [String: Any])?["enum"] as? [String]).map(Set.init) == Set(Route.AuthMode.allCases.map(\.rawValue)))
        #expect(((policyMode?["mode"] as? [String: Any])?["enum"] as? [String]).map(Set.init) == Set(Route.PolicyMode.allCases.map(\.rawValue)))
        let issuer = try Self.object(["issuers"], in: schema)["properties"] as? [String: Any]
        let algorithms = (issuer?["algorithms"] as? [String: Any])?["items"] as? [String: Any]
        #expect((algorithms?["enum"] as? [String]) == ConfigReader.algorithms)
        let log = try Self.object(["decision_log"], in: schema)["properties"] as? [String: Any]
        #expect(((log?["overflow"] as? [String: Any])?["enum"] as? [String]).map(Set.init) == Set(DecisionLogSpec.Overflow.allCases.map(\.rawValue)))
        let mask = try Self.object(["decision_log", "mask"], in: schema)["properties"] as? [String: Any]
        #expect(((mask?["op"] as? [String: Any])?["enum"] as? [String]).map(Set.init) == Set(DecisionLogSpec.Mask.Operation.allCases.map(\.rawValue)))
    }
}
