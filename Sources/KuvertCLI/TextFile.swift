import ArgumentParser
import Foundation
import KuvertCore

/// Reads a Markdown file an editor names (terms, a newsletter's body): UTF-8
/// text, not empty, at most 1 MiB. Errors name the file as what it is for.
enum TextFile {
    static func read(_ path: String, as what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "Cannot read the \(what) \(path).")
        }
        guard data.count <= 1 << 20 else { throw CommandFailure(message: "The \(what) \(path) is larger than 1 MiB.") }
        guard let text = String(data: data, encoding: .utf8),
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { throw CommandFailure(message: "The \(what) \(path) must be non-empty UTF-8 text.") }
        return text
    }
}
