import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

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
        let words = [
            "a", "", "<https://news.example.se/unsubscribe/" + String(repeating: "x", count: 90) + ">,", "List",
            "=?UTF-8?B?w4VzYSDDlnN0ZXJiZXJn?=", String(repeating: "w", count: 30), "<mailto:u@example.se?subject=x>",
        ]
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

    @Test("a Message-ID's domain: the text after the last @, as splitting at every @ gave it")
    func mailboxDomain() {
        for address in ["anna@example.se", "a@b@c.example", "x@", "a@b@", "local", "@only", ""] {
            let reference = address.split(separator: "@").last.map(String.init) ?? "localhost"
            #expect(Mailbox(name: nil, address: address).domain == reference, "\(address)")
        }
    }

    @Test("random hex: 32 lower-case digits, 1,000 values all different, each digit about as frequent as the others")
    func randomHex() {
        let values = (0..<1_000).map { _ in RandomHex.make() }
        #expect(Set(values).count == 1_000)
        #expect(values.allSatisfy { $0.utf8.count == 32 && $0.allSatisfy { "0123456789abcdef".contains($0) } })
        let counts = Dictionary(grouping: values.joined(), by: { $0 }).mapValues(\.count)
        // 32,000 digits: 2,000 each expected; a fair source strays by a few dozen.
        #expect(counts.count == 16 && counts.values.allSatisfy { (1_700...2_300).contains($0) }, "\(counts)")
    }

    @Test("the Date header: one text per second, the same as formatting each time")
    func dateHeader() {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        for offset in [0.0, 0.2, 0.999, 1.0, 86_400.5, 0.1] {
            let date = start.addingTimeInterval(offset)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
            #expect(MailMessage.rfc5322Date(date) == formatter.string(from: date), "\(offset)")
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
