import Ink

/// Turns a list's terms, written in Markdown by the operator, into HTML.
public enum TermsRenderer {
    /// The HTML of Markdown terms. Terms come from the operator, not the public,
    /// so HTML inside them is passed through as written.
    public static func html(_ markdown: String) -> String {
        MarkdownParser().html(from: markdown)
    }
}
