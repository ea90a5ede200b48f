import Synchronization

/// Turns a list's terms, written in Markdown by the operator, into HTML.
///
/// A published version never changes, and every `GET /confirm/{token}` shows
/// one: each version is rendered once per process and kept by its SHA-256,
/// so a page view costs a dictionary lookup, whatever the terms hold.
public enum TermsRenderer {
    private static let rendered = Mutex<[String: String]>([:])
    /// Versions kept at most; past it the cache starts again (a node serves a
    /// handful of lists with a few versions each).
    private static let capacity = 256

    /// The HTML of published terms (raw HTML in them is not passed through:
    /// see `Markdown`).
    public static func html(_ terms: TermsVersion) -> String {
        if let html = rendered.withLock({ $0[terms.sha256] }) { return html }
        let html = Markdown.html(terms.body)
        rendered.withLock { cache in
            if cache.count >= capacity { cache.removeAll() }
            cache[terms.sha256] = html
        }
        return html
    }
}
