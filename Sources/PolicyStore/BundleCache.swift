import Foundation

/// The last good bundle of a Git source, kept in the cache directory so that a restart while the
/// Git server is unreachable serves it:
///
///     <cache>/good/<sha>/...        the bundle's files (the `path` part of the commit)
///     <cache>/last-good.json        {"commit", "url", "branch", "path", "activated_at"}
///
/// Each is written under a temporary name and renamed into place, so a crash leaves either the
/// old or the new bundle, never a mix. Older bundles are removed after the switch.
struct BundleCache {
    let directory: String

    struct Manifest: Codable, Equatable {
        var commit: String
        var url: String
        var branch: String
        var path: String
        var activatedAt: Date

        enum CodingKeys: String, CodingKey {
            case commit, url, branch, path
            case activatedAt = "activated_at"
        }
    }

    var manifestPath: String { directory + "/last-good.json" }
    func bundleDirectory(_ commit: String) -> String { directory + "/good/" + commit }
    /// Scratch space for fetched trees (same file system as `good/`, so renames are atomic).
    var workDirectory: String { directory + "/work" }

    func readManifest() -> Manifest? {
        guard let data = FileManager.default.contents(atPath: manifestPath) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let manifest = try? decoder.decode(Manifest.self, from: data),
              manifest.commit.allSatisfy(\.isHexDigit), !manifest.commit.isEmpty,
              FileManager.default.fileExists(atPath: bundleDirectory(manifest.commit)) else { return nil }
        return manifest
    }

    /// Moves `bundle` (a directory on the cache's file system) to `good/<commit>` and points the
    /// manifest at it; removes every other kept bundle.
    func persist(bundle: String, manifest: Manifest) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/good", withIntermediateDirectories: true)
        let target = bundleDirectory(manifest.commit)
        if fm.fileExists(atPath: target) {
            // Same commit activated again (e.g. after the cache's manifest was lost): replace.
            let old = directory + "/good/.old-" + UUID().uuidString
            try fm.moveItem(atPath: target, toPath: old)
            try? fm.removeItem(atPath: old)
        }
        try fm.moveItem(atPath: bundle, toPath: target)

        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let temporary = manifestPath + ".tmp-" + UUID().uuidString
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, manifestPath) == 0 else {
            try? fm.removeItem(atPath: temporary)
            throw BundleCacheError(description: "\(manifestPath): cannot replace: \(String(cString: strerror(errno)))")
        }
        for entry in (try? fm.contentsOfDirectory(atPath: directory + "/good")) ?? [] where entry != manifest.commit {
            try? fm.removeItem(atPath: directory + "/good/" + entry)
        }
    }

    /// A fresh, empty scratch directory.
    func makeWorkDirectory() throws -> String {
        let path = workDirectory + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func clearWork() { try? FileManager.default.removeItem(atPath: workDirectory) }
}

struct BundleCacheError: Error, CustomStringConvertible {
    let description: String
}
