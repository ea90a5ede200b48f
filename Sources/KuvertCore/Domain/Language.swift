import Foundation

/// The languages Kuvert's pages and mail are written in.
public enum Language: String, Sendable, CaseIterable, Codable {
    case sv
    case en

    /// The language for a tag such as `sv`, `sv-SE` or `EN_gb`; nil for others.
    public init?(tag: some StringProtocol) {
        let primary = tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? ""
        self.init(rawValue: primary.lowercased())
    }

    /// The preferred supported language of an `Accept-Language` header value,
    /// honouring quality weights; nil when none is supported.
    public static func preferred(acceptLanguage header: String) -> Language? {
        var best: (language: Language, quality: Double)?
        for range in header.split(separator: ",").prefix(32) {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first, let language = Language(tag: tag) else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if quality > 0, quality > (best?.quality ?? 0) { best = (language, quality) }
        }
        return best?.language
    }
}
