import Foundation
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("Published terms over HTTP")
struct TermsRoutesTests {
    @Test("the current terms and any published version, each language with its own SHA-256; nothing else answers but 404")
    func published() async throws {
        let app = try await TestApp()
        let swedish = "# Villkor\n\nEtt brev i månaden."
        let english = "# Terms\n\nOne letter a month."
        _ = try await app.store.createList(
            MailingList(slug: "news", name: "Nyheter", language: .sv, createdAt: Date()),
            terms: swedish,
            translations: [.en: english],
            actor: "test"
        )
        try await app.application.test(.router) { client in
            let current = try await client.execute(uri: "/terms/news", method: .get, headers: [.acceptLanguage: "sv"])
            #expect(current.status == .ok && current.text.contains("Ett brev i månaden."))
            #expect(current.text.contains(TermsVersion.digest(swedish)) && current.text.contains("den version som gäller nu"))
            let translated = try await client.execute(uri: "/terms/news/1?locale=en", method: .get)
            #expect(translated.text.contains("One letter a month.") && translated.text.contains(TermsVersion.digest(english)))
            #expect(translated.text.contains(#"lang="en""#) && translated.text.contains(#"href="/terms/news/1?locale=sv""#))

            _ = try await app.store.publishTerms(listSlug: "news", body: "# Villkor\n\nTvå brev i månaden.", actor: "test", now: Date())
            let old = try await client.execute(uri: "/terms/news/1", method: .get, headers: [.acceptLanguage: "sv"])
            #expect(old.status == .ok && old.text.contains("Ett brev i månaden.") && old.text.contains(#"href="/terms/news">version 2</a>"#))
            #expect(try await client.execute(uri: "/terms/news", method: .get).text.contains("Två brev i månaden."))

            for path in ["/terms/nope", "/terms/news/3", "/terms/news/0", "/terms/news/abc", "/terms/News", "/terms/news/99999999999999"] {
                let missing = try await client.execute(uri: path, method: .get)
                #expect(missing.status == .notFound, "\(path)")
            }
        }
    }
}
