import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("GET and POST /confirm/{token}")
struct ConfirmationTests {
    @Test("a Swedish person on an English list reads the Swedish text when there is one, marked as what it is either way")
    func translatedTerms() async throws {
        let app = try await TestApp()
        _ = try await app.store.createList(
            MailingList(slug: "news", name: "News", language: .en, createdAt: Date()),
            terms: "# Terms\n\nOne letter a month.",
            translations: [.sv: "# Villkor\n\nEtt brev i månaden."],
            actor: "test"
        )
        _ = try await app.store.createList(
            MailingList(slug: "english", name: "English only", language: .en, createdAt: Date()),
            terms: "# Terms\n\nIn English.",
            actor: "test"
        )
        try await app.application.test(.router) { client in
            _ = try await client.postForm("/subscribe", "email=asa%40example.se&list=news&locale=sv")
            let translated = try await client.execute(uri: try await app.newestConfirmationPath(), method: .get)
            #expect(translated.text.contains("<html lang=\"sv\">") && translated.text.contains("<section class=\"terms\" lang=\"sv\""))
            #expect(translated.text.contains("Ett brev i månaden.") && !translated.text.contains("One letter a month."))
            // No Swedish text: the English one, and the page says its language.
            _ = try await client.postForm("/subscribe", "email=bo%40example.se&list=english&locale=sv")
            let untranslated = try await client.execute(uri: try await app.newestConfirmationPath(), method: .get)
            #expect(untranslated.text.contains("<html lang=\"sv\">") && untranslated.text.contains("<section class=\"terms\" lang=\"en\""))
            #expect(untranslated.text.contains("In English."))
        }
    }

    @Test("the whole path: subscribe, mail link, terms page, accept, active with consent")
    func wholePath() async throws {
        let app = try await TestApp()
        try await app.addList(language: .sv)
        try await app.application.test(.router) { client in
            let subscribe = try await client.postForm(
                "/subscribe",
                "email=Anna%40Example.SE&name=Anna",
                headers: [.userAgent: "Browser/1"]
            )
            #expect(subscribe.status == .ok)
            let link = try await app.newestConfirmationPath()

            // Opening the link (as a mail scanner would) changes nothing.
            let page = try await client.execute(uri: link, method: .get)
            #expect(page.status == .ok)
            #expect(page.text.contains("<em>one</em> letter a month"))
            // One step: the button is the acceptance; there is no box to tick.
            #expect(page.text.contains("<input type=\"hidden\" name=\"accept_terms\" value=\"yes\">"))
            #expect(page.text.contains("Jag godkänner villkoren och prenumererar"))
            #expect(!page.text.contains("type=\"checkbox\""))
            #expect(page.text.contains("lang=\"sv\""))
            #expect(page.headers[.referrerPolicy] == "no-referrer")
            _ = try await client.execute(uri: link, method: .get)
            #expect(try await app.status(of: "anna@example.se") == "pending")

            // Posting without the box keeps it pending and shows the form again.
            let refused = try await client.postForm(link, "terms_version=1")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains("accept-error"))
            #expect(try await app.status(of: "anna@example.se") == "pending")

            let accepted = try await client.postForm(
                link,
                "accept_terms=yes&terms_version=1",
                headers: [.userAgent: "Browser/2"]
            )
            #expect(accepted.status == .ok)
            #expect(accepted.text.contains("Välkommen"))
            #expect(try await app.status(of: "anna@example.se") == "active")

            // Again: harmless.
            let again = try await client.postForm(link, "accept_terms=yes")
            #expect(again.status == .ok)
            #expect(again.text.contains("redan"))
            let reopened = try await client.execute(uri: link, method: .get)
            #expect(reopened.status == .ok)
        }
        let record = try #require(try await app.store.subscriberRecord(address: try EmailAddress("anna@example.se")))
        let consent = try #require(record.subscriptions.first).consent
        #expect(consent.map(\.kind) == [.requested, .confirmed])
        #expect(consent.last?.userAgent == "Browser/2")
        #expect(consent.last?.termsSHA256 == TermsVersion.digest("# Terms v1\n\nWe send *one* letter a month."))
        #expect(consent.last?.termsVersionId != nil)
    }

    @Test("tampered, foreign, wrong-purpose and garbage tokens get a friendly 400 page")
    func invalidTokens() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"anna@example.se"}"#)
            let link = try await app.newestConfirmationPath()
            let token = String(link.dropFirst("/confirm/".count))
            let subject =
                try await app.store.writer.read { db in
                    try String.fetchOne(db, sql: "SELECT id || ':' || confirmNonce FROM subscription")
                } ?? ""
            let unsubscribe = app.signer.sign(Token(purpose: .unsubscribe, subject: subject, expiresAt: nil))
            let foreign = TokenSigner(keys: [SymmetricKey(size: .bits256)]).sign(Token(purpose: .confirm, subject: subject, expiresAt: nil))
            let flipped = String(token.dropLast()) + (token.last == "A" ? "B" : "A")
            for bad in [unsubscribe, foreign, flipped, "x", "%3Cscript%3E", String(repeating: "A", count: 2000)] {
                let get = try await client.execute(uri: "/confirm/" + bad, method: .get)
                #expect(get.status == .badRequest, "\(bad)")
                #expect(get.text.contains("not valid"))
                #expect(get.text.contains("action=\"/subscribe\""))
                let post = try await client.postForm("/confirm/" + bad, "accept_terms=yes")
                #expect(post.status == .badRequest)
            }
        }
        #expect(try await app.status(of: "anna@example.se") == "pending")
    }

    @Test("an expired link gets a friendly 410 page and cannot confirm")
    func expired() async throws {
        let app = try await TestApp(confirmTTL: 1)
        try await app.addList()
        try await app.application.test(.router) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"anna@example.se"}"#, headers: [.acceptLanguage: "sv"])
            let link = try await app.newestConfirmationPath()
            // Backdate the request instead of sleeping past the one-second window.
            try await app.store.writer.write { db in
                try db.execute(sql: "UPDATE subscription SET requestedAt = ?", arguments: [Date().addingTimeInterval(-5)])
            }
            let linkAfterWindow = try await app.newestConfirmationPath()
            for path in [link, linkAfterWindow] {
                let get = try await client.execute(uri: path, method: .get, headers: [.acceptLanguage: "sv"])
                #expect(get.status == .gone)
                #expect(get.text.contains("gått ut"))
                let post = try await client.postForm(path, "accept_terms=yes")
                #expect(post.status == .gone)
            }
        }
        #expect(try await app.status(of: "anna@example.se") == "pending")
    }

    @Test("a confirm POST with a bad body is refused without a state change")
    func badConfirmBody() async throws {
        let app = try await TestApp(maxBodyBytes: 512)
        try await app.addList()
        try await app.application.test(.router) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"anna@example.se"}"#)
            let link = try await app.newestConfirmationPath()
            let plain = try await client.execute(
                uri: link,
                method: .post,
                headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: "accept_terms=yes")
            )
            #expect(plain.status == .unsupportedMediaType)
            let big = try await client.postForm(link, "accept_terms=yes&x=" + String(repeating: "a", count: 1000))
            #expect(big.status == .contentTooLarge)
            let twice = try await client.postForm(link, "accept_terms=yes&accept_terms=no")
            #expect(twice.status == .unprocessableContent)
            let wrongValue = try await client.postForm(link, "accept_terms=on")
            #expect(wrongValue.status == .unprocessableContent)
        }
        #expect(try await app.status(of: "anna@example.se") == "pending")
    }
}
