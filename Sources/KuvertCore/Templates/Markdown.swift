import CCmark
import Foundation

/// Editors' Markdown (terms, newsletters) as HTML and as plain text, through
/// cmark-gfm: the CommonMark reference implementation, linear in its input
/// whatever it holds, with GitHub's tables, strikethrough and autolinks.
///
/// What Markdown may contain: everything CommonMark writes with its own syntax
/// (headings, emphasis, lists, links, images, code, quotes, tables). Raw HTML is
/// not passed through: cmark's safe mode writes `<!-- raw HTML omitted -->` in
/// its place and empties `javascript:`, `vbscript:`, `file:` and most `data:`
/// links. So no editor's text can put a form, a script, a `<meta refresh>` or
/// a style into a page or a mail (SECURITY.md says the same).
public enum Markdown {
    /// The HTML and the plain text of one Markdown text, parsed once.
    public static func render(_ markdown: String) -> (html: String, text: String) {
        Document(markdown).withRoot { root, parser in
            (html(root, parser: parser), text(root))
        }
    }

    /// The HTML of a Markdown text.
    public static func html(_ markdown: String) -> String {
        Document(markdown).withRoot { root, parser in html(root, parser: parser) }
    }

    /// The plain text of a Markdown text, for a mail's text part: no markup,
    /// each link followed by its address in parentheses (unless its text is
    /// the address), each image by its description.
    public static func text(_ markdown: String) -> String {
        Document(markdown).withRoot { root, _ in text(root) }
    }

    private static func html(_ root: OpaquePointer, parser: OpaquePointer) -> String {
        take(cmark_render_html(root, kuvert_cmark_options, cmark_parser_get_syntax_extensions(parser)))
    }

    /// Changes the tree (the links' addresses become text), so it runs last.
    private static func text(_ root: OpaquePointer) -> String {
        for link in links(in: root) {
            guard let address = cmark_node_get_url(link).map(String.init(cString:)), !address.isEmpty,
                !isOwnText(link, address: address), let node = cmark_node_new(CMARK_NODE_TEXT)
            else { continue }
            cmark_node_set_literal(node, " (\(address))")
            cmark_node_insert_after(link, node)
        }
        var text = take(cmark_render_plaintext(root, kuvert_cmark_options, 0))
        while text.hasSuffix("\n\n") { text.removeLast() }
        return text
    }

    /// Every link node, found before any is changed (cmark's iterator must not
    /// see the tree change under it).
    private static func links(in root: OpaquePointer) -> [OpaquePointer] {
        guard let iterator = cmark_iter_new(root) else { return [] }
        defer { cmark_iter_free(iterator) }
        var found: [OpaquePointer] = []
        while case let event = cmark_iter_next(iterator), event != CMARK_EVENT_DONE {
            if event == CMARK_EVENT_ENTER, let node = cmark_iter_get_node(iterator),
                cmark_node_get_type(node) == CMARK_NODE_LINK
            {
                found.append(node)
            }
        }
        return found
    }

    /// Whether a link's only content is its own address (an autolink, or
    /// `[https://x](https://x)`), which the text then shows already.
    private static func isOwnText(_ link: OpaquePointer, address: String) -> Bool {
        guard let child = cmark_node_first_child(link), cmark_node_next(child) == nil,
            cmark_node_get_type(child) == CMARK_NODE_TEXT,
            let literal = cmark_node_get_literal(child).map(String.init(cString:))
        else { return false }
        return literal == address || "mailto:" + literal == address
    }

    /// The most body cells the text's tables could have once every row is
    /// padded to its header's width: columns of each delimiter row times the
    /// lines under it up to a blank line. An upper bound, in one pass.
    static func paddedTableCells(_ markdown: String) -> Int {
        var cells = 0
        var columns = 0
        var previousBlank = true
        for line in markdown.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let blank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if blank {
                columns = 0
            } else if columns > 0 {
                cells += columns
            } else if !previousBlank, let count = delimiterColumns(line) {
                columns = count
            }
            previousBlank = blank
        }
        return cells
    }

    /// The number of columns of a table's delimiter row (`| --- | :-: |`), or nil.
    private static func delimiterColumns(_ line: Substring.UTF8View.SubSequence) -> Int? {
        var columns = 0
        var dashes = false
        var sawPipe = false
        var segmentOpen = false
        for byte in line {
            switch byte {
            case UInt8(ascii: "|"):
                sawPipe = true
                if segmentOpen {
                    guard dashes else { return nil }
                    columns += 1
                }
                segmentOpen = false
                dashes = false
            case UInt8(ascii: "-"):
                segmentOpen = true
                dashes = true
            case UInt8(ascii: ":"):
                segmentOpen = true
            case 0x20, 0x09, 0x0D:
                continue
            default:
                return nil
            }
        }
        if segmentOpen {
            guard dashes else { return nil }
            columns += 1
        }
        return columns > 0 && (sawPipe || columns > 1) ? columns : nil
    }

    /// A string cmark allocated, copied and freed.
    private static func take(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// A parsed text and its parser, freed together when the work is done.
    private struct Document {
        let markdown: String

        init(_ markdown: String) { self.markdown = markdown }

        func withRoot<T>(_ body: (OpaquePointer, OpaquePointer) -> T) -> T {
            // cmark-gfm pads every row to its header's width: a header of
            // 5,000 columns over 5,000 one-cell rows (45 KB) is 25 million
            // cells, which Debian 12's 0.29.0.gfm.6 takes minutes to write
            // (later versions cap it alike). Tables stay text past the bound.
            let tables = Markdown.paddedTableCells(markdown) <= max(1 << 16, markdown.utf8.count)
            let parser = kuvert_cmark_parser_new(tables ? 1 : 0)!
            defer { cmark_parser_free(parser) }
            var markdown = markdown
            markdown.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    cmark_parser_feed(parser, chars.baseAddress, chars.count)
                }
            }
            let root = cmark_parser_finish(parser)!
            defer { cmark_node_free(root) }
            return body(root, parser)
        }
    }
}
