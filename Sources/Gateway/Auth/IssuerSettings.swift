import Foundation
import GatewayConfig
import Identity
import JOSE

/// routes.yaml's issuer entries as Identity's configuration.
enum IssuerSettings {
    static func issuerConfig(_ spec: IssuerSpec) throws -> IssuerConfig {
        let audiences: ClaimsPolicy.Audiences = spec.audiences == ["*"] ? .any : .oneOf(Set(spec.audiences))
        var algorithms = JWSAlgorithm.allAsymmetric
        if let names = spec.algorithms {
            algorithms = []
            for name in names {
                guard let algorithm = JWSAlgorithm(rawValue: name), JWSAlgorithm.allAsymmetric.contains(algorithm) else {
                    throw RuntimeConfigError(message: "issuer \(spec.issuer): algorithm \(name) is not supported")
                }
                algorithms.insert(algorithm)
            }
        }
        var cache = KeyCacheSettings()
        if let v = spec.cache.minTTL { cache.minTTL = v }
        if let v = spec.cache.maxTTL { cache.maxTTL = v }
        if let v = spec.cache.defaultTTL { cache.defaultTTL = v }
        if let v = spec.cache.maxStale { cache.maxStale = v }
        if let v = spec.cache.unknownKidInterval { cache.unknownKidInterval = v }
        if let v = spec.cache.fetchTimeout { cache.fetchTimeout = v }
        var staticKeys: JWKS?
        if let file = spec.jwksFile {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw RuntimeConfigError(message: "issuer \(spec.issuer): cannot read jwks_file \(file)")
            }
            do { staticKeys = try JWKS.parse(json: text) } catch {
                throw RuntimeConfigError(message: "issuer \(spec.issuer): jwks_file \(file): \(error)")
            }
        }
        return IssuerConfig(issuer: spec.issuer, jwksURI: spec.jwksURI, audiences: audiences, algorithms: algorithms,
                            leeway: spec.leeway ?? ClaimsPolicy.defaultLeeway, requireExpiration: spec.requireExpiration,
                            maxLifetime: spec.maxLifetime, requiredType: spec.requiredType, cache: cache,
                            allowInsecureHTTP: spec.allowInsecureHTTP, staticKeys: staticKeys)
    }
}
