/// Builtin and function calls, and the `with` keyword.
extension Evaluator {
    static func overrideKey(_ t: CallTarget) -> String {
        switch t {
        case .builtin(let b): return "b:" + b.name
        case .function(let p): return "f:" + p.joined(separator: ".")
        }
    }

    /// Calls a target and passes each output to `k`: one for functions, several for relations.
    func callEach(_ target: CallTarget, _ args: [Value], _ loc: Location, _ k: VCont) throws -> Bool {
        if case .builtin(let b) = target, let rel = b.relation,
           functionOverrides.isEmpty || functionOverrides[Evaluator.overrideKey(target)] == nil {
            try step()
            let outs: [Value]
            do { outs = try rel(ctx, args) }
            catch BuiltinError.type(let msg) {
                if strict { throw RegoError(code: .evalType, message: "\(b.name): \(msg)", location: loc) }
                return false
            } catch BuiltinError.builtin(let msg) {
                if strict { throw RegoError(code: .evalBuiltin, message: "\(b.name): \(msg)", location: loc) }
                return false
            }
            for v in outs { try step(); if try resumeWith(k, v) { return true } }
            return false
        }
        guard let r = try call(target, args, loc) else { return false }
        return try resumeWith(k, r)
    }

    func call(_ target: CallTarget, _ args: [Value], _ loc: Location) throws -> Value? {
        try step()
        if !functionOverrides.isEmpty, let rep = functionOverrides[Evaluator.overrideKey(target)] {
            switch rep {
            case .value(let v): return v
            case .target(let t):
                // Evaluate the replacement without this override (a mock may call the original).
                let saved = functionOverrides
                functionOverrides = [:]
                defer { functionOverrides = saved }
                return try call(t, args, loc)
            }
        }
        switch target {
        case .builtin(let b):
            return try callBuiltinImpl(b, args, loc)
        case .function(let path):
            guard let node = policy.root.lookup(path[...]) else { return nil }
            return try callFunction(node, args, loc)
        }
    }

    // MARK: with
    func evalWith(_ e: Expr, _ f: Frame, _ k: Cont) throws -> Bool {
        // Values are evaluated in the current context first.
        var mods: [(Term, WithReplacementValue)] = []
        for w in e.withs {
            if case .resolvedCall(let t, let a) = w.value.kind, a.isEmpty, case .resolvedCall = w.target.kind {
                mods.append((w.target, .target(t)))
                continue
            }
            var val: Value?
            _ = try evalTerm(w.value, f) { v in val = v; return true }
            guard let v = val else { return false }
            mods.append((w.target, .value(v)))
        }
        let savedInput = input, savedData = dataOverrides, savedFns = functionOverrides, savedCache = cache
        for (target, rep) in mods {
            switch target.kind {
            case .inputRoot:
                if case .value(let v) = rep { input = v }
            case .ref(let h, let segs):
                guard case .value(let v) = rep else {
                    throw RegoError(code: .type, message: "with keyword value must be a value for \(target.kind)", location: e.loc)
                }
                var path: [Value] = []
                for s in segs { guard let sv = try constant(s) else { return false }; path.append(sv) }
                if case .inputRoot = h.kind {
                    input = setPath(input ?? .emptyObject, path, v)
                } else {
                    dataOverrides.append((path.map { if case .string(let s) = $0 { return s }; return $0.description }, v))
                }
            case .dataRoot:
                if case .value(let v) = rep { dataOverrides.append(([], v)) }
            case .resolvedCall(let t, _):
                switch rep {
                case .value(let v): functionOverrides[Evaluator.overrideKey(t)] = .value(v)
                case .target(let rt): functionOverrides[Evaluator.overrideKey(t)] = .target(rt)
                }
            default:
                throw RegoError(code: .type, message: "invalid with target", location: e.loc)
            }
        }
        cache = RuleCache(count: policy.nodeCount)
        let modInput = input, modData = dataOverrides, modFns = functionOverrides, modCache = cache
        defer { input = savedInput; dataOverrides = savedData; functionOverrides = savedFns; cache = savedCache }
        var inner = e
        inner.withs = []
        return try evalExpr(inner, f) {
            // The rest of the body runs in the outer context.
            self.input = savedInput; self.dataOverrides = savedData; self.functionOverrides = savedFns; self.cache = savedCache
            defer { self.input = modInput; self.dataOverrides = modData; self.functionOverrides = modFns; self.cache = modCache }
            return try resume(k)
        }
    }

    enum WithReplacementValue {
        case value(Value)
        case target(CallTarget)
    }
}
