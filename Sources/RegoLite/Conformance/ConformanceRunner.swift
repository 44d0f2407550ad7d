import Foundation

/// Runs OPA-format conformance cases (the JSON form of OPA's `v1/test/cases/testdata`) the way
/// OPA's harness does, and classifies each: passed, unsupported (a compile error naming a
/// construct outside RegoLite's subset) or wrong (any other difference).
public struct ConformanceRunner: Sendable {
    public enum Outcome: String, Sendable { case passed, unsupported, wrong }

    public struct CaseResult: Sendable {
        public let folder: String
        public let file: String
        public let note: String
        public let outcome: Outcome
        public let detail: String
    }

    public struct FolderCounts: Sendable, Equatable {
        public var passed = 0, unsupported = 0, wrong = 0
        public var total: Int { passed + unsupported + wrong }
        public init() {}
    }

    public struct Report: Sendable {
        public var results: [CaseResult] = []
        public var folders: [String: FolderCounts] = [:]
        public init() {}
        public var passed: Int { results.filter { $0.outcome == .passed }.count }
        public var unsupported: Int { results.filter { $0.outcome == .unsupported }.count }
        public var wrong: Int { results.filter { $0.outcome == .wrong }.count }
        /// Folders where every case passed.
        public var fullyPassingFolders: [String] { folders.filter { $0.value.passed == $0.value.total }.keys.sorted() }

        /// `{"passed": N, "unsupported": N, "wrong": N, "folders": {...}}`
        public var json: Value {
            var f: [(Value, Value)] = []
            for (k, c) in folders {
                f.append((.string(k), .object(RegoObject(pairs: [(.string("passed"), .int(c.passed)), (.string("unsupported"), .int(c.unsupported)), (.string("wrong"), .int(c.wrong))]))))
            }
            return .object(RegoObject(pairs: [(.string("passed"), .int(passed)), (.string("unsupported"), .int(unsupported)),
                                              (.string("wrong"), .int(wrong)), (.string("folders"), .object(RegoObject(pairs: f)))]))
        }
    }

    public var builtins: BuiltinRegistry
    public var maxSteps: Int
    public init(builtins: BuiltinRegistry = .standard, maxSteps: Int = 5_000_000) { self.builtins = builtins; self.maxSteps = maxSteps }

    /// Runs every `*.json` file under `directory` (recursively). The folder of a case is its
    /// file's parent directory relative to `directory`.
    public func run(directory: URL, filter: ((String) -> Bool)? = nil) throws -> Report {
        var report = Report()
        let fm = FileManager.default
        guard let en = fm.enumerator(at: directory, includingPropertiesForKeys: nil) else { return report }
        var files: [URL] = []
        for case let u as URL in en where u.pathExtension == "json" { files.append(u) }
        files.sort { $0.path < $1.path }
        let base = directory.standardizedFileURL.path
        for u in files {
            let rel = String(u.standardizedFileURL.path.dropFirst(base.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let folder = rel.split(separator: "/").dropLast().joined(separator: "/")
            if let filter, !filter(rel) { continue }
            let doc: Value
            do { doc = try JSONReader.parse(data: try Data(contentsOf: u)) } catch {
                // A case file that cannot be read is an error, never a silently smaller corpus.
                throw RegoError(code: .compile, message: "\(rel): cannot read the case file: \(error)")
            }
            guard case .array(let cases)? = doc["cases"] else {
                throw RegoError(code: .compile, message: "\(rel): no \"cases\" array")
            }
            for c in cases {
                let r = runCase(c, folder: folder, file: rel)
                report.results.append(r)
                var fc = report.folders[folder] ?? FolderCounts()
                switch r.outcome { case .passed: fc.passed += 1; case .unsupported: fc.unsupported += 1; case .wrong: fc.wrong += 1 }
                report.folders[folder] = fc
            }
        }
        return report
    }

    public func runCase(_ c: Value, folder: String, file: String) -> CaseResult {
        let note = c["note"]?.stringValue ?? ""
        func result(_ o: Outcome, _ d: String) -> CaseResult { CaseResult(folder: folder, file: file, note: note, outcome: o, detail: d) }
        let wantCode = c["want_error_code"]?.stringValue
        let wantMsg = c["want_error"]?.stringValue
        let wantsError = wantCode != nil || wantMsg != nil
        let strict = c["strict_error"]?.boolValue ?? false

        func classifyError(_ errs: [RegoError]) -> CaseResult {
            if errs.contains(where: \.isUnsupported) { return result(.unsupported, errs.map(\.description).joined(separator: "; ")) }
            if wantsError {
                for e in errs {
                    let codeOK = wantCode == nil || e.code.rawValue == wantCode
                    let msgOK = wantMsg == nil || wantMsg!.isEmpty || e.description.contains(wantMsg!) || e.message.contains(wantMsg!)
                    if codeOK && msgOK { return result(.passed, "") }
                }
            }
            return result(.wrong, "unexpected error: " + errs.map(\.description).joined(separator: "; ") + (wantsError ? " (want \(wantCode ?? "") \(wantMsg ?? ""))" : ""))
        }

        // Compile.
        var engine = PolicyEngine(builtins: builtins)
        let policy: CompiledPolicy
        let query: PreparedQuery
        var input: Value?
        do {
            if case .array(let mods)? = c["modules"] {
                for (i, m) in mods.enumerated() { try engine.addModule(name: "test-\(i).rego", source: m.stringValue ?? "") }
            }
            if let d = c["data"], case .object = d { try engine.addData(d) }
            policy = try engine.compile()
            query = try PreparedQuery(policy: policy, query: c["query"]?.stringValue ?? "")
            if let it = c["input_term"]?.stringValue {
                let term = try Parser.parseTerm(it)
                input = try PreparedQuery(policy: policy, query: "regolite_input_term = \(it)").eval(input: nil).first?.bindings["regolite_input_term"]
                _ = term
            } else if let i = c["input"] { input = i }
        } catch let e as RegoError { return classifyError([e]) }
        catch let e as RegoErrors { return classifyError(e.errors) }
        catch { return result(.wrong, "unexpected error: \(error)") }

        // Evaluate.
        let results: [QueryResult]
        do {
            var opts = EvalOptions(strictBuiltinErrors: strict, maxSteps: maxSteps, nowNs: nil)
            opts.printSink = nil
            results = try query.eval(input: input, options: opts)
        } catch let e as RegoError {
            if e.code == .evalLimit { return result(.unsupported, e.description) }
            return classifyError([e])
        } catch { return result(.wrong, "unexpected error: \(error)") }

        if wantsError { return result(.wrong, "expected error \(wantCode ?? "") \(wantMsg ?? "") but got \(results.count) results") }
        guard case .array(let want)? = c["want_result"] else { return result(.wrong, "case has no expectation") }
        let sortBindings = c["sort_bindings"]?.boolValue ?? false
        let ignoreGenerated = c["ignore_generated_vars"]?.boolValue ?? false
        var got: [Value] = results.map { r in
            var pairs: [(Value, Value)] = []
            for (k, v) in r.bindings {
                if ignoreGenerated && k.hasPrefix("__") { continue }
                pairs.append((.string(k), ConformanceRunner.jsonShape(v, sortTop: sortBindings)))
            }
            return .object(RegoObject(pairs: pairs))
        }
        var expected = want.map { w -> Value in
            guard case .object(let o) = w else { return w }
            return .object(RegoObject(pairs: o.pairs.map { ($0.0, ConformanceRunner.jsonShape($0.1, sortTop: sortBindings)) }))
        }
        got.sort(); expected.sort()
        if got == expected { return result(.passed, "") }
        return result(.wrong, "want \(JSONWriter.write(.array(expected))) got \(JSONWriter.write(.array(got)))")
    }

    /// A value as it looks after a JSON round trip: sets become sorted arrays, object keys strings.
    static func jsonShape(_ v: Value, sortTop: Bool) -> Value {
        switch v {
        case .set(let s): return .array(s.elements.map { jsonShape($0, sortTop: false) }.sorted())
        case .array(let a):
            let m = a.map { jsonShape($0, sortTop: false) }
            return .array(sortTop ? m.sorted() : m)
        case .object(let o):
            return .object(RegoObject(pairs: o.pairs.map { k, x in
                (k.stringValue.map { .string($0) } ?? .string(JSONWriter.write(jsonShape(k, sortTop: false))), jsonShape(x, sortTop: false))
            }))
        default: return v
        }
    }
}
