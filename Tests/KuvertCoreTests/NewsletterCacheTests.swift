import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Mail rendered once per campaign or list")
struct NewsletterCacheTests {
    @Test(
        "the encoded template, filled, decodes to exactly what rendering per recipient gives",
        arguments: [nil, "", "Anna", "Björn Ängström", "Åsa <b>&</b> \"Ö\" 'x'", "{{name}}", "\u{F8F0}0\u{F8F1}"]
    )
    func sameAsRendering(name: String?) async throws {
        let renderer = try await TemplateRenderer(directory: TestPaths.templates, required: NewsletterMail.templateNames)
        let cache = NewsletterMail.Cache(renderer: renderer)
        let (html, text) = NewsletterMail.bodies(markdown: "# Nytt\n\nLäs [mer](https://example.se/?a=1&b=2) <nu>.\n")
        let campaign = Campaign(
            id: 7,
            listId: 1,
            subject: "Höst & vår",
            bodyMarkdown: "",
            bodyHTML: html,
            bodyText: text,
            status: .sending,
            createdAt: Date()
        )
        let list = MailingList(id: 1, slug: "news", name: "Föreningen <Nyheter>", thanksURL: nil, language: .sv, createdAt: Date())
        for language in Language.allCases {
            for isTest in [false, true] {
                for link in ["https://example.se/unsubscribe/abc", "https://example.se/u?x=1&y=\"2\""] {
                    // Twice: the first fills the cache, the second reads it.
                    for _ in 0..<2 {
                        let cached = try cache.encoded(
                            campaign,
                            list: list,
                            language: language,
                            name: name,
                            unsubscribeURL: link,
                            manageURL: link.replacingOccurrences(of: "unsubscribe", with: "manage"),
                            isTest: isTest
                        )
                        let direct = try NewsletterMail.render(
                            campaign,
                            list: list,
                            language: language,
                            name: name,
                            unsubscribeURL: link,
                            manageURL: link.replacingOccurrences(of: "unsubscribe", with: "manage"),
                            isTest: isTest,
                            renderer: renderer
                        )
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
                        id: 4,
                        subscriberId: 2,
                        listId: 1,
                        status: .pending,
                        name: nil,
                        language: language,
                        confirmNonce: "0123456789abcdef",
                        requestedAt: requestedAt,
                        confirmedAt: nil,
                        endedAt: nil,
                        updatedAt: requestedAt
                    )
                    for token in ["MS5jb25maXJtLjQ.abc-_", "x&y<\"z\">"] {
                        // Twice: the first fills the cache, the second reads it.
                        for _ in 0..<2 {
                            let cached = try cache.encoded(
                                subscription,
                                list: list,
                                token: token,
                                baseURL: "https://example.se",
                                confirmTTL: 86_400
                            )
                            let direct = try ConfirmationMail.render(
                                subscription,
                                list: list,
                                to: "a@example.se",
                                token: token,
                                baseURL: "https://example.se",
                                confirmTTL: 86_400,
                                renderer: renderer
                            )
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

    @Test("times for people read as ICU writes them in Swedish and English, in the configured zone, across summer time")
    func humanTime() throws {
        for zoneName in ["Europe/Stockholm", "America/New_York", "UTC"] {
            let zone = try #require(TimeZone(identifier: zoneName))
            let time = HumanTime(timeZone: zone)
            for (language, locale, format) in [(Language.sv, "sv_SE", "d MMMM y 'kl.' HH:mm"), (.en, "en_GB", "d MMMM y, HH:mm")] {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: locale)
                formatter.timeZone = zone
                formatter.dateFormat = format
                // Random times, and the minutes around Stockholm's changes to and from summer time in 2026.
                let changes = [1_774_746_000.0, 1_792_890_000.0].flatMap { change in stride(from: change - 3_600, through: change + 3_600, by: 599) }
                // And times a hair before a whole minute, which ICU rounds up to it.
                let edges = (0..<200).map { _ in Double(Int.random(in: 0...66_000_000) * 60) - Double.random(in: 0.0001...0.0005) }
                for seconds in (0..<1_000).map({ _ in Double.random(in: 0...4_000_000_000) }) + changes + edges {
                    let date = Date(timeIntervalSince1970: seconds)
                    #expect(time.text(date, language: language) == formatter.string(from: date), "\(date) \(zoneName) \(language)")
                }
            }
        }
        #expect(HumanTime.stockholm.text(Date(timeIntervalSince1970: 1_797_175_605), language: .sv) == "13 december 2026 kl. 16:26")
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
                let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
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
