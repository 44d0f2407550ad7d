#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JWS in compact serialization (RFC 7515 §7.1), parsed but not verified.
///
/// Parsing is strict: exactly three segments, each strict unpadded base64url; a header that
/// is a JSON object without duplicate members and with a string `alg`; the size limit is
/// checked before any decoding.
public struct CompactJWS: Sendable {
    /// The protected header, unverified.
    public let header: JSONObject
    /// The header's JSON bytes (decoded from the first segment).
    public let headerJSON: [UInt8]
    /// `alg` as written in the header.
    public let algorithmName: String
    /// `kid`, if present.
    public let kid: String?
    /// The decoded payload bytes.
    public let payload: [UInt8]
    /// The decoded signature bytes.
    public let signature: [UInt8]
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    public let signingInput: [UInt8]

    public static let defaultMaxBytes = 16 * 1024

    /// Header parameters this implementation understands when listed in `crit`: none. A token
    /// with `crit` therefore never verifies (RFC 7515 §4.1.11: unknown critical ⇒ invalid).
    static let understoodCritical: Set<String> = []

    public init(_ token: String, maxBytes: Int = defaultMaxBytes) throws(JOSEError) {
        var token = token
        self = try token.withUTF8Bytes { (buffer) throws(JOSEError) -> CompactJWS in
            try CompactJWS(bytes: buffer, maxBytes: maxBytes)
        }
    }

    public init(bytes token: UnsafeRawBufferPointer, maxBytes: Int = defaultMaxBytes) throws(JOSEError) {
        guard token.count <= maxBytes else {
            throw JOSEError(.tooLarge, "the token is \(token.count) bytes; the limit is \(maxBytes)")
        }
        guard !token.isEmpty else { throw JOSEError(.malformed, "the token is empty") }
        guard let firstDot = Self.indexOfDot(in: token, from: 0),
              let secondDot = Self.indexOfDot(in: token, from: firstDot + 1) else {
            throw JOSEError(.malformed, "the token must have three base64url segments separated by '.'")
        }
        if Self.indexOfDot(in: token, from: secondDot + 1) != nil {
            throw JOSEError(.malformed, "the token has more than three segments (a JWE has five; only signed JWTs are accepted)")
        }
        let dots = (firstDot, secondDot)
        let headerPart = UnsafeRawBufferPointer(rebasing: token[0..<dots.0])
        let payloadPart = UnsafeRawBufferPointer(rebasing: token[(dots.0 + 1)..<dots.1])
        let signaturePart = UnsafeRawBufferPointer(rebasing: token[(dots.1 + 1)...])
        guard let headerBytes = Base64URL.decode(headerPart) else {
            throw JOSEError(.malformed, "the header segment is not strict base64url")
        }
        guard let payload = Base64URL.decode(payloadPart) else {
            throw JOSEError(.malformed, "the payload segment is not strict base64url")
        }
        guard let signature = Base64URL.decode(signaturePart) else {
            throw JOSEError(.malformed, "the signature segment is not strict base64url")
        }
        let headerValue: JSONValue
        do { headerValue = try JSONParser.parse(bytes: headerBytes, maxDepth: 8) } catch {
            throw JOSEError(.malformed, "the header is not valid JSON: \(error)")
        }
        guard let header = headerValue.objectValue else {
            throw JOSEError(.malformed, "the header must be a JSON object, not \(headerValue.typeName)")
        }
        guard let alg = header["alg"] else { throw JOSEError(.malformed, "the header has no \"alg\"") }
        guard let algorithmName = alg.stringValue else { throw JOSEError(.malformed, "\"alg\" must be a string") }
        if let kidValue = header["kid"], kidValue.stringValue == nil {
            throw JOSEError(.malformed, "\"kid\" must be a string")
        }
        if let critValue = header["crit"] {
            guard let names = critValue.arrayValue, !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) else {
                throw JOSEError(.malformed, "\"crit\" must be a non-empty array of strings")
            }
            let unknown = names.compactMap(\.stringValue).filter { !Self.understoodCritical.contains($0) }
            if !unknown.isEmpty {
                throw JOSEError(.unsupportedCrit, "critical header parameters not understood: \(unknown.joined(separator: ", "))")
            }
        }
        self.header = header
        self.headerJSON = headerBytes
        self.algorithmName = algorithmName
        self.kid = header["kid"]?.stringValue
        self.payload = payload
        self.signature = signature
        self.signingInput = Array(UnsafeRawBufferPointer(rebasing: token[0..<dots.1]))
    }

    private static func indexOfDot(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(UInt8(ascii: ".")), bytes.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// The payload as a JSON object (the JWT claims set).
    public func claims() throws(JOSEError) -> JSONObject {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: payload) } catch {
            throw JOSEError(.malformed, "the payload is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw JOSEError(.malformed, "the payload must be a JSON object, not \(value.typeName)")
        }
        return object
    }

    /// The claims verification checks (`exp`, `nbf`, `iat`, `iss`, `aud`), after validating the
    /// whole payload as strictly as `claims()` does, without building the other claims.
    public func registeredClaims() throws(JOSEError) -> JSONObject {
        let object: JSONObject?
        do {
            object = try payload.withBytes { (bytes) throws(JSONParser.Error) -> JSONObject? in
                try JSONParser.parseObject(bytes, keeping: ClaimsPolicy.registeredClaimNames)
            }
        } catch {
            throw JOSEError(.malformed, "the payload is not valid JSON: \(error)")
        }
        guard let object else { throw JOSEError(.malformed, "the payload must be a JSON object") }
        return object
    }

    /// Verifies the signature with the key set's candidate keys for this token.
    /// Returns the key that verified it and the algorithm.
    @discardableResult
    public func verifySignature(keys: JWKS, allowedAlgorithms: Set<JWSAlgorithm> = JWSAlgorithm.allAsymmetric) throws(JOSEError) -> (key: JWK, algorithm: JWSAlgorithm) {
        let algorithm = try JWSAlgorithm.named(algorithmName)
        guard allowedAlgorithms.contains(algorithm) else {
            throw JOSEError(.unsupportedAlg, "alg \(algorithm.rawValue) is not in the allowed list (\(allowedAlgorithms.sorted().map(\.rawValue).joined(separator: ", ")))")
        }
        let candidates = try keys.candidates(kid: kid, algorithm: algorithm)
        guard !signature.isEmpty else { throw JOSEError(.badSignature, "the signature segment is empty") }
        var lastError = JOSEError(.badSignature, "the signature does not verify")
        for candidate in candidates {
            do throws(JOSEError) {
                try signingInput.withBytes { (input) throws(JOSEError) in
                    try candidate.key.verify(signature: signature, over: input, algorithm: algorithm)
                }
                return (candidate, algorithm)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }
}
