import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// GETs discovery documents and key sets with the limits AUTH_GUIDE.md lists: https only
/// (http to loopback, or with `allow_insecure_http`), no redirects, a timeout and a body limit,
/// conditional requests with `If-None-Match`.
public struct DocumentFetcher: Sendable {
    enum Outcome: Sendable {
        case document(body: [UInt8], etag: String?, maxAge: Double?)
        case notModified(maxAge: Double?)
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    let client: HTTPClient

    func get(_ url: String, etag: String?, allowInsecureHTTP: Bool, timeout: Double, maxBytes: Int) async throws -> Outcome {
        try Self.checkScheme(url, allowInsecureHTTP: allowInsecureHTTP)
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        if let etag { request.headers.add(name: "If-None-Match", value: etag) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        } catch {
            throw Failure(description: "GET \(url): \(Self.describe(error))")
        }
        let maxAge = Self.maxAge(response.headers["Cache-Control"].joined(separator: ","))
        if response.status == .notModified {
            return .notModified(maxAge: maxAge)
        }
        guard response.status == .ok else {
            throw Failure(description: "GET \(url): HTTP \(response.status.code)")
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBytes {
            throw Failure(description: "GET \(url): body of \(length) bytes exceeds the \(maxBytes)-byte limit")
        }
        do {
            var body = try await response.body.collect(upTo: maxBytes)
            return .document(body: body.readBytes(length: body.readableBytes) ?? [], etag: response.headers.first(name: "ETag"),
                             maxAge: maxAge)
        } catch is NIOTooManyBytesError {
            throw Failure(description: "GET \(url): body exceeds the \(maxBytes)-byte limit")
        } catch {
            throw Failure(description: "GET \(url): \(Self.describe(error))")
        }
    }

    /// One GET of a key set (or any JSON document) with the cache's limits, for tools: a
    /// client with redirects disabled is made for the call and shut down after it.
    public static func fetchOnce(_ url: String, allowInsecureHTTP: Bool, settings: KeyCacheSettings = KeyCacheSettings()) async throws -> [UInt8] {
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        do {
            let outcome = try await DocumentFetcher(client: client).get(url, etag: nil, allowInsecureHTTP: allowInsecureHTTP,
                                                                        timeout: settings.fetchTimeout, maxBytes: settings.maxBodyBytes)
            try await client.shutdown()
            guard case .document(let body, _, _) = outcome else { throw Failure(description: "GET \(url): unexpected 304") }
            return body
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func checkScheme(_ url: String, allowInsecureHTTP: Bool) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else {
            throw Failure(description: "\(url) is not an absolute URL")
        }
        switch scheme {
        case "https": return
        case "http" where allowInsecureHTTP || isLoopback(host): return
        case "http": throw Failure(description: "\(url): plain http is refused except to loopback (set allow_insecure_http to override)")
        default: throw Failure(description: "\(url): scheme \(scheme) is not supported")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// `max-age` from Cache-Control; `no-store`/`no-cache` count as 0 (the minimum TTL applies).
    static func maxAge(_ header: String) -> Double? {
        var result: Double? = nil
        for directive in header.lowercased().split(separator: ",") {
            let parts = directive.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            switch parts.first {
            case "max-age"? where parts.count == 2:
                if let seconds = Double(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))), seconds >= 0 {
                    result = seconds
                }
            case "no-store"?, "no-cache"?:
                return 0
            default: break
            }
        }
        return result
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}
