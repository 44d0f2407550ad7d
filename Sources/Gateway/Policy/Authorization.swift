import DecisionLog
import Foundation
import GatewayConfig
import Logging
import NIOCore
import NIOHTTP1
import PolicyStore
import RegoLite

/// Phase 5: evaluate the route's query on the policy snapshot in force and enforce the answer.
/// Fails closed: no policy (when required), an undefined decision, a wrong shape or an evaluation
/// error all deny.
enum Authorization {
    enum Outcome {
        case proceed
        case reject(GatewayError)
    }

    static func decide(_ ctx: RequestContext, route: RuntimeRoute, core: GatewayCore, cache: inout DecisionCache) -> Outcome {
        if route.policyMode == .off { return .proceed }
        let enforced = route.policyMode == .enforce
        guard let snapshot = core.policy.snapshot else {
            if ctx.config.configuration.policy.required {
                core.metrics.decision("error")
                return .reject(GatewayError(status: .serviceUnavailable, code: .policyUnavailable,
                                            message: "no policy is loaded yet", headers: [("Retry-After", "5")]))
            }
            core.warnNoPolicy()
            core.metrics.decision("no_policy_allow")
            return .proceed
        }
        guard let query = snapshot.query(route.policyQuery) else {
            core.metrics.decision("error")
            core.logger.error("policy query is not prepared", metadata: ["query": "\(route.policyQuery)", "revision": "\(snapshot.revision)"])
            return .reject(GatewayError(status: .serviceUnavailable, code: .policyUnavailable,
                                        message: "the route's policy query is not available"))
        }
        let options = EvalOptions(strictBuiltinErrors: false, maxSteps: ctx.config.configuration.policy.maxSteps, nowNs: ctx.startWallNanos)
        let plan = ctx.config.configuration.policy.decisionCache ? cache.plan(for: query) : nil
        var input: Value?
        var decision: PolicyDecision
        var evalNs: Int64?
        if let plan, let reused = cache.lookup(query, plan: plan, ctx: ctx, route: route) {
            decision = reused
            core.metrics.decisionCacheHit()
        } else {
            let built = PolicyInput.build(context: ctx, route: route, identityHeaders: ctx.config.identityHeaderNames)
            input = built
            let started = NIODeadline.now()
            do {
                decision = PolicyDecision.interpret(try query.evalValue(input: built, options: options))
            } catch {
                decision = PolicyDecision(allow: false, error: "\(error)")
            }
            let ns = (NIODeadline.now() - started).nanoseconds
            evalNs = ns
            core.metrics.policyEvaluation(seconds: Double(ns) / 1e9)
            if let plan {
                if plan.cacheable { core.metrics.decisionCacheMiss() }
                cache.store(decision, query: query, plan: plan, ctx: ctx, route: route)
            }
        }
        ctx.decision = decision
        if let error = decision.error {
            core.logger.warning("policy decision failed: denied", metadata: [
                "request_id": "\(ctx.requestID)", "route": "\(route.id)", "query": "\(route.policyQuery)",
                "revision": "\(snapshot.revision)", "error": "\(error)",
            ])
        }
        let status = decision.status.map { (400...599).contains($0) ? $0 : 403 } ?? 403
        if core.decisionLog != nil {
            let input = input ?? PolicyInput.build(context: ctx, route: route, identityHeaders: ctx.config.identityHeaderNames)
            record(ctx, route: route, query: query, input: input, options: options, decision: decision, status: status,
                   enforced: enforced, revision: snapshot.revision, evalNs: evalNs)
        }
        if decision.allow {
            core.metrics.decision("allow")
            return .proceed
        }
        if !enforced {
            core.metrics.decision("dry_run_deny")
            return .proceed
        }
        core.metrics.decision(decision.error == nil ? "deny" : "error")
        var details: [(String, Value)] = [("reasons", .array(decision.reasons.map(Value.string)))]
        if decision.error != nil { details.append(("policy_error", .true)) }
        if status == 401 {
            var error = GatewayError.unauthorized(ctx.identity == nil ? .missingToken : .invalidToken,
                                                  description: ctx.identity == nil ? "missing_token" : "forbidden",
                                                  message: "the policy requires authentication")
            error.details = details
            return .reject(error)
        }
        return .reject(GatewayError(status: HTTPResponseStatus(statusCode: status), code: .forbidden,
                                    message: "the policy denied this request", details: details))
    }

    /// The request's decision record (DESIGN.md, "Decision records"), written when the response
    /// is known. A decision reused from the connection's cache has no evaluation time. A denial
    /// also says which rule bodies were tried and where each failed: a second, tracking
    /// evaluation, paid only by denials and run by the log's writer thread.
    private static func record(_ ctx: RequestContext, route: RuntimeRoute, query: PreparedQuery, input: Value, options: EvalOptions,
                               decision: PolicyDecision, status: Int, enforced: Bool, revision: String, evalNs: Int64?) {
        var record = DecisionRecord(
            timestampNs: ctx.startWallNanos, requestID: ctx.requestID, route: route.id, stage: .authz,
            query: route.policyQuery, input: input, result: decision.result, revision: revision,
            status: decision.allow ? 0 : status, allowed: decision.allow, enforced: enforced, reasons: decision.reasons,
            error: decision.error, evalNs: evalNs,
            handlerNs: Int64(NIODeadline.now().uptimeNanoseconds - ctx.start.uptimeNanoseconds),
            credentials: ctx.token.map { [String($0)] } ?? [])
        record.tokenEncoding = ctx.identity?.logEncoding
        if !decision.allow {
            // Made by the log's writer thread, off the request path.
            record.explain = { query.explain(input: input, options: options, alsoRule: "allow") }
        }
        ctx.decisionRecord = record
    }
}
