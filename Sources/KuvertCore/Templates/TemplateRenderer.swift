import Foundation
import Mustache

/// Renders the Mustache templates of the templates directory.
///
/// Templates are loaded once at start and named by their path below the
/// directory, without the extension and with dots for slashes, such as
/// `web.sv.confirm` (Mustache section names cannot hold a slash, and a parent
/// template is closed by its name). Each is rendered from a small view
/// struct; `{{value}}` is HTML-escaped unless a template declares
/// `{{% CONTENT_TYPE: TEXT}}`.
public struct TemplateRenderer: Sendable {
    private let library: MustacheLibrary

    /// Loads every template below `directory`.
    /// - Parameter required: names that must exist, checked now rather than on first use.
    /// - Throws: `KuvertError.configuration` naming the directory, the file that
    ///   does not parse, or the first missing template.
    public init(directory: String, required: [String]) async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw KuvertError.configuration("The templates directory \(directory) does not exist (set KUVERT_TEMPLATES).")
        }
        library = try Self.load(directory)
        if let missing = required.first(where: { library.getTemplate(named: $0) == nil }) {
            throw KuvertError.configuration("The template \(missing) is missing from \(directory).")
        }
    }

    private static func load(_ directory: String) throws -> MustacheLibrary {
        var library = MustacheLibrary()
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "mustache" else { continue }
            let relative = file.standardizedFileURL.path.dropFirst(root.path.count + 1)
            let name = relative.dropLast(".mustache".count).replacingOccurrences(of: "/", with: ".")
            guard let text = try? String(contentsOf: file, encoding: .utf8) else {
                throw KuvertError.configuration("Cannot read the template \(file.path).")
            }
            do {
                try library.register(text, named: name)
            } catch {
                throw KuvertError.configuration("The template \(relative) does not parse: \(error).")
            }
        }
        return library
    }

    /// The template `name` rendered with `view`.
    /// - Throws: `KuvertError.configuration` when no such template was loaded.
    public func render(_ view: Any, template name: String) throws -> String {
        guard let text = library.render(view, withTemplate: name) else {
            throw KuvertError.configuration("The template \(name).mustache is missing.")
        }
        return text
    }
}
