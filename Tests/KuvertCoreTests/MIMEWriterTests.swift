import Foundation
import Testing
@testable import KuvertCore

@Suite("Header lines")
struct MIMEWriterTests {
    /// Folding as RFC 5322 describes it, written plainly with strings: a word
    /// goes on a new line when the line would pass 78 characters and holds more
    /// than the header's name.
    static func referenceFold(_ name: String, _ value: String) -> String {
        if name.count + 2 + value.count <= 78 { return name + ": " + value + "\r\n" }
        var lines: [String] = []
        var current = name + ":"
        for word in value.split(separator: " ", omittingEmptySubsequences: false) {
            if current.count + 1 + word.count > 78, current.contains(where: { $0 != " " }), current.count > name.count + 1 {
                lines.append(current)
                current = ""
            }
            current += " " + word
        }
        lines.append(current)
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    @Test("folding at spaces: as the plain reference, unfolding gives the value back, lines stay within 78 where words allow")
    func folding() throws {
        var generator = SystemRandomNumberGenerator()
        let words = ["a", "", "<https://news.example.se/unsubscribe/" + String(repeating: "x", count: 90) + ">,", "List",
                     "=?UTF-8?B?w4VzYSDDlnN0ZXJiZXJn?=", String(repeating: "w", count: 30), "<mailto:u@example.se?subject=x>"]
        for round in 0..<500 {
            let value = (0..<Int.random(in: 1...12, using: &generator)).map { _ in words.randomElement(using: &generator)! }
                .joined(separator: " ")
            let name = round % 2 == 0 ? "List-Unsubscribe" : "X"
            var writer = MIMEWriter()
            try writer.header(name, value)
            let written = String(decoding: writer.bytes, as: UTF8.self)
            #expect(written == Self.referenceFold(name, value), "\(value)")
            #expect(written.replacingOccurrences(of: "\r\n ", with: " ") == name + ": " + value + "\r\n")
            for line in written.components(separatedBy: "\r\n") where line.utf8.count > 78 {
                // Only a line of one word (after its name) may be longer.
                #expect(!line.dropFirst(name.count + 2).trimmingCharacters(in: .whitespaces).contains(" "), "\(line)")
            }
        }
    }

    @Test("control characters anywhere in a name or value are refused, C1 controls included")
    func controls() {
        for value in ["a\r\nBcc: x@example.se", "a\nb", "tab\there", "del\u{7F}", "c1\u{85}next", "\u{9F}"] {
            var writer = MIMEWriter()
            #expect(throws: MailMessage.Problem.headerInjection(header: "Subject")) { try writer.header("Subject", value) }
        }
        var writer = MIMEWriter()
        #expect(throws: MailMessage.Problem.headerInjection(header: "X-A:b")) { try writer.header("X-A:b", "v") }
        #expect(throws: MailMessage.Problem.headerInjection(header: "X A")) { try writer.header("X A", "v") }
        // Non-ASCII that is not a control passes (its encoding is the caller's business).
        #expect(throws: Never.self) { try writer.header("X-Name", "Åsa \u{A0}Östberg ¢") }
    }

    @Test("a plausible address: one @ with text on both sides, no spaces, brackets, commas or controls (as a plain reference says)")
    func plausibleAddress() {
        // The reference: the rule written over Unicode scalars, as it was before the byte scan.
        func reference(_ address: String) -> Bool {
            let parts = address.split(separator: "@", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
                && !address.unicodeScalars.contains { $0 == " " || $0 == "<" || $0 == ">" || $0 == "," || $0.isControlCharacter }
        }
        var cases = [
            "a@b", "@b", "a@", "a@@b", "a@b@c", "", "a b@c", "<a@b>", "a,b@c", "a@b\r\n", "åsa@exempel.se",
            "a\u{85}b@c", "a\u{A0}@c", "a\u{7F}@b", "x@y.z", "ab", "a\tb@c",
        ]
        let alphabet = Array("ab@ ,<>.\u{1}\u{7F}\u{85}å\u{A0}")
        for _ in 0..<3_000 {
            cases.append(String((0..<Int.random(in: 0...6)).map { _ in alphabet.randomElement()! }))
        }
        for address in cases {
            #expect(Mailbox.isPlausibleAddress(address) == reference(address), "\(address.debugDescription)")
        }
    }

    @Test("printable ASCII is a header's text as it is, unless it holds =? (which readers would decode)")
    func encodedWordStart() throws {
        #expect(try MIMEWriter.encodedText("Plain subject = fine?", header: "Subject") == "Plain subject = fine?")
        #expect(try MIMEWriter.encodedText("Looks =?encoded?=", header: "Subject").hasPrefix("=?UTF-8?B?"))
    }
}
