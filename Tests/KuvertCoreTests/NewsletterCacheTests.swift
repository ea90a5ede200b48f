import Foundation
import KuvertTestSupport
import Testing
@testable import KuvertCore

@Suite("Mail rendered once per campaign or list")
struct NewsletterCacheTests {
    @Test(
        "the encoded template, filled, decodes to exactly what rendering per recipient gives",
        arguments: [nil, "", "Anna", "Åsa <b>&</b> \"Ö\" 'x'", "{{name}}", "\u{F8F0}0\u{F8F1}"])
    func sameAsRendering(name: String?) async throws {
        let renderer = try await TemplateRenderer(directory: TestPaths.templates, required: NewsletterMail.templateNames)
        let cache = NewsletterMail.Cache(renderer: renderer)
        let (html, text) = NewsletterMail.bodies(markdown: "# Nytt\n\nLäs [mer](https://example.se/?a=1&b=2) <nu>.\n")
        let campaign = Campaign(
            id: 7, listId: 1, subject: "Höst & vår", bodyMarkdown: "", bodyHTML: html, bodyText: text, status: .sending,
            createdAt: Date())
        let list = MailingList(id: 1, slug: "news", name: "Föreningen <Nyheter>", thanksURL: nil, language: .sv, createdAt: Date())
        for language in Language.allCases {
            for isTest in [false, true] {
                for link in ["https://example.se/unsubscribe/abc", "https://example.se/u?x=1&y=\"2\""] {
                    // Twice: the first fills the cache, the second reads it.
                    for _ in 0..<2 {
                        let cached = try cache.encoded(
                            campaign, list: list, language: language, name: name, unsubscribeURL: link, isTest: isTest)
                        let direct = try NewsletterMail.render(
                            campaign, list: list, language: language, name: name, unsubscribeURL: link, isTest: isTest,
                            renderer: renderer)
                        #expect(cached.subject == direct.subject)
                        for (encoded, plain) in [(cached.text, direct.text), (cached.html, direct.html)] {
                            // Means what the whole body encoded at once means.
                            var whole = MIMEWriter()
                            whole.quotedPrintable(plain)
                            #expect(Self.decodeQuotedPrintable(encoded) == Self.decodeQuotedPrintable(whole.bytes))
                            let lines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
                            #expect(lines.allSatisfy { $0.utf8.count <= 76 && $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } })
                            #expect(encoded.suffix(2) == [0x0D, 0x0A])
                        }
                    }
                }
            }
        }
    }

    @Test("a confirmation from the cache decodes to exactly what rendering it per subscription gives")
    func confirmationSameAsRendering() async throws {
        let renderer = try await TemplateRenderer(directory: TestPaths.templates, required: ConfirmationMail.templateNames)
        let cache = ConfirmationMail.Cache(renderer: renderer)
        for listName in ["Föreningen <Nyheter> & \"vänner\"", "News"] {
            let list = MailingList(id: 1, slug: "news", name: listName, thanksURL: nil, language: .sv, createdAt: Date())
            for language in Language.allCases {
                for requestedAt in [Date(timeIntervalSince1970: 1_800_000_000.9996), Date()] {
                    let subscription = Subscription(
                        id: 4, subscriberId: 2, listId: 1, status: .pending, name: nil, language: language,
                        confirmNonce: "0123456789abcdef", requestedAt: requestedAt, confirmedAt: nil, endedAt: nil,
                        updatedAt: requestedAt)
                    for token in ["MS5jb25maXJtLjQ.abc-_", "x&y<\"z\">"] {
                        // Twice: the first fills the cache, the second reads it.
                        for _ in 0..<2 {
                            let cached = try cache.encoded(
                                subscription, list: list, token: token, baseURL: "https://example.se", confirmTTL: 86_400)
                            let direct = try ConfirmationMail.render(
                                subscription, list: list, to: "a@example.se", token: token, baseURL: "https://example.se",
                                confirmTTL: 86_400, renderer: renderer)
                            #expect(cached.subject == direct.subject)
                            for (encoded, plain) in [(cached.text, direct.text), (cached.html, direct.html)] {
                                var whole = MIMEWriter()
                                whole.quotedPrintable(plain)
                                #expect(Self.decodeQuotedPrintable(encoded) == Self.decodeQuotedPrintable(whole.bytes))
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("a confirmation's expiry reads as Foundation's ISO 8601 to the second, in UTC")
    func expiryText() {
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 0...4_000_000_000))
            let reference = date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)) + " UTC"
            #expect(ConfirmationMail.expiryText(date) == reference)
        }
    }

    /// RFC 2045's quoted-printable decoded, CRLF read as LF: written here, not
    /// with the encoder under test.
    static func decodeQuotedPrintable(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "="), index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A {
                index += 3
            } else if byte == UInt8(ascii: "="), index + 2 < bytes.count,
                      let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16) {
                out.append(value)
                index += 3
            } else if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                out.append(0x0A)
                index += 2
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
