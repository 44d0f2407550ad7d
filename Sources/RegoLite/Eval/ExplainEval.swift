/// The evaluator side of `PreparedQuery.explain`: runs a rule's bodies as `runBranches` does,
/// through the same plans, but with `runBodyTracking`, which notes the furthest expression each
/// body reached. The deciding evaluation (`runBody`) is untouched: explaining costs nothing
/// unless asked for.
extension Evaluator {
    /// The furthest expression index a body reached (`body.count` once it held).
    final class Reach { var furthest = -1 }

    /// Every body of every definition of the rule at `node`, in order, the `else` chain of a
    /// definition stopping at its first body that produces a value (as evaluation does); and
    /// whether the `default` value applied.
    func explainRule(_ node: RuleNode) -> ([RuleBodyOutcome], Bool) {
        let name = "data." + node.path.joined(separator: ".")
        var outcomes: [RuleBodyOutcome] = []
        var anyProduced = false
        for (definition, rule) in node.rules.enumerated() {
            guard let plan = rule.plan else { continue }
            var branches: [(plan: RulePlan.Branch, body: [Expr], location: Location)] = [(plan.main, rule.body, rule.location)]
            for (j, e) in plan.elses.enumerated() where j < rule.elses.count {
                branches.append((e, rule.elses[j].body, rule.elses[j].body.first?.loc ?? rule.location))
            }
            let size = rule.frameSize
            let (f, frameMark) = pushFrame(size)
            defer { popFrame(f, size, frameMark) }
            for (elseIndex, branch) in branches.enumerated() {
                let reach = Reach()
                var produced = false
                var failure: String?
                do {
                    _ = try runBodyTracking(branch.plan.body, 0, f, reach) {
                        guard try branch.plan.value.eval(self, f) != nil else { return false }
                        produced = true
                        return true
                    }
                } catch {
                    failure = "\(error)"
                }
                let result: RuleBodyOutcome.Result = failure != nil ? .error : (produced ? .succeeded : .failed)
                var failed: RuleBodyOutcome.FailedExpression?
                if !produced {
                    failed = failedExpression(branch.body, reach.furthest, fallback: branch.location)
                }
                outcomes.append(RuleBodyOutcome(rule: name, definition: definition, elseIndex: elseIndex, location: branch.location,
                                                result: result, failedExpression: failed, error: failure))
                if produced { anyProduced = true; break }
                if failure != nil { break }
            }
        }
        return (outcomes, !anyProduced && node.defaultRule != nil)
    }

    private func failedExpression(_ body: [Expr], _ index: Int, fallback: Location) -> RuleBodyOutcome.FailedExpression? {
        if index < 0 { return nil }
        if index >= body.count {
            return RuleBodyOutcome.FailedExpression(index: body.count, location: fallback, text: "<head value>")
        }
        let loc = body[index].loc
        return RuleBodyOutcome.FailedExpression(index: index, location: loc, text: sourceText(at: loc))
    }

    /// The source line of `loc` from its column, trimmed, at most 200 characters.
    func sourceText(at loc: Location) -> String {
        guard loc.line >= 1 else { return "" }
        var lines: [Substring]?
        for module in policy.modules where module.source.name == loc.file { lines = module.source.lines; break }
        guard let lines, loc.line <= lines.count else { return "" }
        var text = lines[loc.line - 1].dropFirst(max(0, loc.column - 1))
        while let c = text.first, c == " " || c == "\t" { text = text.dropFirst() }
        while let c = text.last, c == " " || c == "\t" || c == "\r" { text = text.dropLast() }
        return text.count > 200 ? String(text.prefix(200)) + "…" : String(text)
    }

    /// `runBody` that records in `reach` the furthest expression started (over all solutions).
    func runBodyTracking(_ body: [ExprPlan], _ start: Int, _ f: Frame, _ reach: Reach, _ k: Cont) throws -> Bool {
        let mark = trailTop
        defer { undo(mark) }
        var i = start
        let n = body.count
        while i < n {
            if i > reach.furthest { reach.furthest = i }
            let e = body[i]
            if e.deterministic {
                try step()
                if try !e.test(self, f) { return false }
                i += 1
            } else {
                let next = i + 1
                if next == n {
                    return try e.iter(self, f) {
                        if n > reach.furthest { reach.furthest = n }
                        return try k()
                    }
                }
                return try e.iter(self, f) { try self.runBodyTracking(body, next, f, reach, k) }
            }
        }
        if n > reach.furthest { reach.furthest = n }
        return try k()
    }
}
