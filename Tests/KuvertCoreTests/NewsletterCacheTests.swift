import Foundation
import KuvertTestSupport
import Testing
@testable import KuvertCore

@Suite("Newsletters rendered once per campaign")
struct NewsletterCacheTests {
    @Test(
        "filling the prepared template gives exactly what rendering per recipient gives",
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
                        let cached = try cache.render(
                            campaign, list: list, language: language, name: name, unsubscribeURL: link, isTest: isTest)
                        let direct = try NewsletterMail.render(
                            campaign, list: list, language: language, name: name, unsubscribeURL: link, isTest: isTest,
                            renderer: renderer)
                        #expect(cached.subject == direct.subject)
                        #expect(cached.text == direct.text)
                        #expect(cached.html == direct.html)
                    }
                }
            }
        }
    }
}
