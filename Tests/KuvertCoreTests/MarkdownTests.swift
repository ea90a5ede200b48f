import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Markdown: cmark-gfm for terms and newsletters")
struct MarkdownTests {
    @Test("CommonMark and GitHub's tables, strikethrough and autolinks become HTML")
    func html() {
        let html = Markdown.html(
            """
            # Villkor

            Vi sparar **din adress** och ~~inget annat~~. Läs [mer](https://example.se/a?b=1&c=2).

            | vad | hur länge |
            | --- | --- |
            | adress | 24 månader |

            Frågor: https://example.se/fragor
            """
        )
        #expect(html.contains("<h1>Villkor</h1>"))
        #expect(html.contains("<strong>din adress</strong>") && html.contains("<del>inget annat</del>"))
        #expect(html.contains(#"<a href="https://example.se/a?b=1&amp;c=2">mer</a>"#))
        #expect(html.contains("<table>") && html.contains("<td>24 månader</td>"))
        #expect(html.contains(#"<a href="https://example.se/fragor">https://example.se/fragor</a>"#))
    }

    @Test(
        "raw HTML and script links never pass: no form, meta refresh, script or style from an editor",
        arguments: [
            #"<meta http-equiv="refresh" content="0;url=https://evil.example">"#,
            #"<form action="https://evil.example"><input name="pw"></form>"#,
            "<script>alert(1)</script>",
            #"<img src=x onerror="alert(1)">"#,
            "<style>body{display:none}</style>",
            "[klick](javascript:alert(1))",
            "[klick](JaVaScRiPt:alert(1))",
            "![bild](vbscript:msgbox(1))",
            "[data](data:text/html;base64,PHNjcmlwdD4=)",
        ]
    )
    func unsafe(markdown: String) {
        let html = Markdown.html("Text\n\n" + markdown + "\n\ninline " + markdown)
        for forbidden in ["<meta", "<form", "<input", "<script", "<style", "onerror=", "javascript:", "vbscript:", "data:text/html"] {
            #expect(!html.lowercased().contains(forbidden.lowercased()), "\(forbidden) in \(html)")
        }
    }

    @Test("the plain text has no markup; links keep their address, images their description")
    func text() {
        let text = Markdown.text(
            """
            # Nytt från föreningen

            Läs **mer** [här](https://example.se/a?b=1&c=2) och på https://example.se/b.

            ![Årsmötet 2026](https://example.se/bild.jpg)

            - ett
            - två
            """
        )
        #expect(text.hasPrefix("Nytt från föreningen\n"))
        #expect(text.contains("Läs mer här (https://example.se/a?b=1&c=2) och på https://example.se/b."))
        #expect(!text.contains("https://example.se/b (https://example.se/b)"))
        #expect(text.contains("Årsmötet 2026") && !text.contains("bild.jpg"))
        #expect(text.contains("ett") && text.contains("två"))
        #expect(!text.contains("**") && !text.contains("#") && !text.contains("]("))
    }

    /// Inputs that are exponential or quadratic in naive Markdown parsers (Ink
    /// took 15.7 s for 22 '['), each about a MiB, and a table whose padding
    /// would multiply its size (a header of 5,000 columns over 5,000 one-cell
    /// rows is 25 million cells: cmark-gfm 0.29.0.gfm.6, Debian 12's, took 119 s).
    /// cmark is linear on the rest, and `Markdown` leaves such a table as text.
    /// The bound only catches a non-linear parser: each renders in well under a
    /// second here, in a debug build.
    static let pathologicalNames = [
        "brackets", "bracket pairs", "emphasis", "nested lists", "nested quotes", "backticks", "table padding",
        "many tables", "link references",
    ]

    static func pathological(_ name: String) -> String {
        switch name {
        case "brackets": String(repeating: "[", count: 1 << 20)
        case "bracket pairs": String(repeating: "[a](", count: 1 << 18)
        case "emphasis": String(repeating: "*a_", count: 1 << 18)
        case "nested lists": (0..<10_000).map { String(repeating: "  ", count: $0 % 500) + "- x" }.joined(separator: "\n")
        case "nested quotes": String(repeating: ">", count: 1 << 16) + " x"
        case "backticks": (1...1_500).map { String(repeating: "`", count: $0) + "a" }.joined()
        case "table padding":
            "|" + String(repeating: "a|", count: 5_000) + "\n|" + String(repeating: "-|", count: 5_000) + "\n"
                + String(repeating: "|x\n", count: 5_000)
        case "many tables":
            String(
                repeating: "|" + String(repeating: "a|", count: 200) + "\n|" + String(repeating: "-|", count: 200) + "\n"
                    + String(repeating: "|x\n", count: 50) + "\n",
                count: 100
            )
        case "link references": String(repeating: "[x]: https://e.x\n", count: 30_000) + String(repeating: "[x] ", count: 30_000)
        default: ""
        }
    }

    @Test("pathological Markdown renders in linear time", arguments: pathologicalNames)
    func linear(name: String) throws {
        let markdown = Self.pathological(name)
        #expect(!markdown.isEmpty)
        let clock = ContinuousClock()
        var html = ""
        let elapsed = clock.measure { html = Markdown.render(markdown).html }
        #expect(elapsed < .seconds(10), "\(name): \(elapsed)")
        // No output far larger than the input (a padded table would be 25 million cells).
        #expect(html.utf8.count < 40 * markdown.utf8.count + 1_000_000, "\(name): \(html.utf8.count) bytes")
    }

    @Test("a table of ordinary size is a table; its padding is bounded by the input's size")
    func tablePadding() {
        let ordinary = "| a | b | c |\n| - | - | - |\n| 1 |\n| 2 | 3 |\n"
        let html = Markdown.html(ordinary)
        #expect(html.contains("<table>") && html.components(separatedBy: "<td").count - 1 == 6)
        #expect(Markdown.paddedTableCells(ordinary) == 6)
        #expect(Markdown.paddedTableCells(Self.pathological("table padding")) == 25_000_000)
        #expect(!Markdown.html(Self.pathological("table padding")).contains("<table>"))
    }

    @Test("terms are rendered once per published version")
    func termsOnce() {
        let body = "Villkor **v\(UUID().uuidString)**"
        let terms = TermsVersion(listId: 1, version: 1, body: body, sha256: TermsVersion.digest(body), publishedAt: Date())
        let first = TermsRenderer.html(terms)
        #expect(first.contains("<strong>"))
        // The cache is keyed by the hash: the same version, however its body were read, is the same HTML.
        var same = terms
        same.body = "changed under the same hash"
        #expect(TermsRenderer.html(same) == first)
    }
}
