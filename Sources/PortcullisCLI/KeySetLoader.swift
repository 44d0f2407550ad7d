import Foundation
import Identity
import JOSE

/// Loads verification keys for the CLI from a file or an http(s) URL: a JWKS, a single JWK,
/// or a PEM public key.
enum KeySetLoader {
    static let maxBytes = KeyCacheSettings().maxBodyBytes

    static func load(_ location: String, allowInsecureHTTP: Bool) async throws -> JWKS {
        let text: String
        if location.hasPrefix("https://") || location.hasPrefix("http://") {
            // The gateway's own fetch: https only (http to loopback), no redirects, 5 s, 512 KiB.
            do {
                text = String(decoding: try await DocumentFetcher.fetchOnce(location, allowInsecureHTTP: allowInsecureHTTP), as: UTF8.self)
            } catch {
                throw UsageError("\(error)")
            }
        } else {
            text = try InputFiles.read(location, limit: maxBytes, what: "key set")
        }
        return try parse(text, source: location)
    }

    static func parse(_ text: String, source: String) throws -> JWKS {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") {
            do { return JWKS(keys: [JWK(kid: nil, key: try PublicKey.pem(trimmed))]) } catch {
                throw UsageError("\(source): \(error.message)")
            }
        }
        let document: JSONValue
        do { document = try JSONParser.parse(trimmed) } catch {
            throw UsageError("\(source): not valid JSON: \(error)")
        }
        if let object = document.objectValue, object["kty"] != nil {
            switch JWK.parse(object) {
            case .key(let key): return JWKS(keys: [key])
            case .skipped(_, let reason): throw UsageError("\(source): the JWK cannot be used: \(reason)")
            case .rejected(let kid, let error): return JWKS(keys: [], leftOut: [.init(kid: kid, reason: error.message, error: error)])
            }
        }
        do { return try JWKS.parse(json: trimmed) } catch {
            throw UsageError("\(source): \(error.message)")
        }
    }
}

enum InputFiles {
    /// A whole file (or stdin for "-"), refused past `limit` bytes.
    static func read(_ path: String, limit: Int, what: String) throws -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw UsageError("cannot read \(what) file \(path)")
            }
            data = contents
        }
        guard data.count <= limit else { throw UsageError("\(path): the \(what) is larger than \(limit) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw UsageError("\(path): the \(what) is not UTF-8 text") }
        return text
    }
}
