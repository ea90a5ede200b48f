import ArgumentParser
import Foundation
import KuvertCore

/// Reads a terms file: UTF-8 text, not empty, at most 1 MiB.
enum TermsFile {
    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "Cannot read the terms file \(path).")
        }
        guard data.count <= 1 << 20 else { throw CommandFailure(message: "The terms file \(path) is larger than 1 MiB.") }
        guard let text = String(data: data, encoding: .utf8),
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { throw CommandFailure(message: "The terms file \(path) must be non-empty UTF-8 text.") }
        return text
    }
}
