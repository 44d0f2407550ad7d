import DecisionLog
import Identity
import JOSE
import NIOCore

/// Phase 4 for one connection: who is calling. A request ends here as anonymous (a public route,
/// or no token where one is optional), as a verified identity, or as one failure that the front
/// answers in one place (metric, decision record, 401 or 503). The connection keeps its last
/// credential: the same `Authorization` field, byte for byte, is re-confirmed
/// (`Authenticator.reconfirm`: deadline, time claims, key still in the issuer's set) instead of
/// being extracted, hashed and looked up again.
struct Authentication {
    enum Outcome {
        case anonymous
        case verified(VerifiedIdentity)
        case failed(AuthenticationFailure)
        /// Not in the verified-token cache: the signature must be checked (off the fast path).
        case verify(Substring, Authenticator)
    }

    /// The connection's last token, its verification and identity.
    private(set) var kept: KeptCredential?

    /// What the request presents, decided without suspending when possible.
    mutating func begin(_ ctx: RequestContext, route: RuntimeRoute, websocket: Bool, core: GatewayCore) -> Outcome {
        if route.authMode == .public { return .anonymous }
        if let kept, let keptHeader = kept.header, ctx.fields.authorizationCount == 1,
           let header = ctx.fields.authorization, header == keptHeader, let authenticator = core.authenticator {
            let started = NIODeadline.now()
            if authenticator.reconfirm(kept.verification, at: Double(ctx.startWallNanos) / 1e9) {
                core.metrics.jwtVerification(seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
                ctx.token = kept.token
                return admit(kept.identity, verification: kept.verification, route: route)
            }
        }
        let token: Substring
        switch TokenExtraction.token(ctx, websocket: websocket ? route.websocket : nil) {
        case .none:
            guard route.authMode == .required else { return .anonymous }
            return .failed(.missingToken)
        case .malformed(let message):
            return .failed(AuthenticationFailure(code: "malformed", message: message))
        case .token(let t):
            token = t
            ctx.token = t
        }
        guard let authenticator = core.authenticator else {
            return .failed(AuthenticationFailure(code: "wrong_issuer", message: "no token issuer is configured"))
        }
        let started = NIODeadline.now()
        guard let cached = authenticator.cachedVerification(String(token)) else { return .verify(token, authenticator) }
        core.metrics.jwtVerification(seconds: Double((NIODeadline.now() - started).nanoseconds) / 1e9)
        return finish(ctx, route: route, token: token, result: .success(cached))
    }

    /// The end of a verification: the identity (shared by every connection presenting the same
    /// token: made once, with the token's cache entry) or why the token is refused.
    mutating func finish(_ ctx: RequestContext, route: RuntimeRoute, token: Substring,
                         result: Result<Authenticator.Verification, any Error>) -> Outcome {
        let verification: Authenticator.Verification
        switch result {
        case .success(let v): verification = v
        case .failure(let error): return .failed(AuthenticationFailure(error))
        }
        let identity: VerifiedIdentity
        do {
            identity = try verification.derivations.value { try VerifiedIdentity(verification) }
        } catch {
            return .failed(AuthenticationFailure(code: "malformed", message: "the token's JSON could not be read"))
        }
        let fromHeader = ctx.tokenQueryParameter == nil && ctx.tokenCookie == nil
        kept = KeptCredential(header: fromHeader ? ctx.fields.authorization : nil, token: token, verification: verification,
                              identity: identity)
        return admit(identity, verification: verification, route: route)
    }

    private func admit(_ identity: VerifiedIdentity, verification: Authenticator.Verification, route: RuntimeRoute) -> Outcome {
        if !route.allowedIssuers.isEmpty && !route.allowedIssuers.contains(verification.issuer) {
            return .failed(AuthenticationFailure(code: "wrong_issuer", message: "tokens of this issuer are not accepted on route \(route.id)"))
        }
        return .verified(identity)
    }
}

/// Why a request's credentials were refused: the code counted, logged and sent (never a claim
/// of the token), and the answer.
struct AuthenticationFailure: Error {
    let code: String
    let error: GatewayError

    static let missingToken = AuthenticationFailure(
        code: "missing_token", error: .unauthorized(.missingToken, description: "missing_token", message: "a bearer token is required"))

    init(code: String, message: String) {
        self.code = code
        self.error = .unauthorized(.invalidToken, description: code, message: message)
    }

    /// The request's decision record (`"stage": "authn"`, no result), so that every 401 can be
    /// explained: its input is what the policy would have seen, without credentials; the token
    /// itself is erased wherever it occurs.
    func record(_ ctx: RequestContext, route: RuntimeRoute) -> DecisionRecord {
        DecisionRecord(
            timestampNs: ctx.startWallNanos, requestID: ctx.requestID, route: route.id, stage: .authn,
            input: PolicyInput.build(context: ctx, route: route, identityHeaders: ctx.config.identityHeaderNames),
            status: 401, allowed: false, enforced: true, reasons: [code], error: code,
            handlerNs: Int64(NIODeadline.now().uptimeNanoseconds - ctx.start.uptimeNanoseconds),
            credentials: ctx.token.map { [String($0)] } ?? [])
    }

    private init(code: String, error: GatewayError) {
        self.code = code
        self.error = error
    }

    init(_ error: any Error) {
        let joseError = error as? JOSEError
        let code = joseError?.code.rawValue ?? "invalid_token"
        if joseError?.code == .keysUnavailable {
            self.init(code: code, error: GatewayError(status: .serviceUnavailable, code: .keysUnavailable,
                                                      message: "the issuer's signing keys are not available",
                                                      headers: [("Retry-After", "5")]))
        } else {
            self.init(code: code, message: joseError?.message ?? "the token is not valid")
        }
    }
}

/// A connection's last token, its verification and the identity made of it: one reference to
/// read per request rather than a tuple of copies.
final class KeptCredential {
    /// The `Authorization` field as sent; nil when the token came from a query parameter or cookie.
    let header: String?
    /// A view of `header` when the token came from it (no second copy of it per connection).
    let token: Substring
    let verification: Authenticator.Verification
    let identity: VerifiedIdentity

    init(header: String?, token: Substring, verification: Authenticator.Verification, identity: VerifiedIdentity) {
        self.header = header
        self.token = token
        self.verification = verification
        self.identity = identity
    }
}
