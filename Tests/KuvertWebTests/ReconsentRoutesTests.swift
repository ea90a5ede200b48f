import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("Terms that change, over HTTP, with real mail", .serialized)
struct ReconsentRoutesTests {
    static let newTerms = "# Villkor\n\nVi räknar nu öppningar."

    /// The first link in a mail's text part that starts with `prefix`, as a path.
    static func path(in mail: ReceivedMail, startingWith prefix: String) throws -> String {
        let text = try #require(try mail.parsed().part("text/plain")).content
        let url = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test" + prefix) })
        return String(url.dropFirst("http://kuvert.test".count))
    }

    @Test("a notice: list mail with the summary, both texts' links, manage and one-click unsubscribe; nobody changes")
    func notice() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.store.activate("olle@example.se")
        try await app.store.writer.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'sent'") }
        let progress = try await app.store.changeTerms(
            listSlug: "news",
            body: Self.newTerms,
            translations: [:],
            TermsChangeRequest(kind: .notice, summary: "Vi **räknar** öppningar <script>x</script>."),
            actor: "cli",
            now: Date(),
            batchSize: 100
        )
        #expect(progress.waiting == 1)
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await server.waitFor { server.messages().count == 1 }
        let mail = try server.messages()[0].parsed()
        #expect(mail.headers["Subject"] == "Nya villkor för Nyheter (version 2)")
        #expect(mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" && mail.headers["List-Id"] != nil)
        let text = try #require(mail.part("text/plain")).content
        #expect(text.contains("/terms/news/2?locale=sv") && text.contains("/terms/news/1?locale=sv"))
        #expect(text.contains("/manage/") && text.contains("/unsubscribe/") && text.contains("Vi räknar öppningar"))
        let html = try #require(mail.part("text/html")).content
        #expect(html.contains("<strong>räknar</strong>") && !html.contains("<script>"))
        #expect(try await app.status(of: "olle@example.se") == "active")
        mailerTask.cancel()
        try await mailerTask.value
    }

    @Test("a re-consent: the link's page changes nothing, the button records the new version, a second post is the same page; after the deadline 410")
    func reconsent() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.store.activate("olle@example.se")
        try await app.store.writer.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'sent'") }
        _ = try await app.store.changeTerms(
            listSlug: "news",
            body: Self.newTerms,
            translations: [:],
            TermsChangeRequest(kind: .reconsent, deadline: 3_600),
            actor: "cli",
            now: Date(),
            batchSize: 100
        )
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await server.waitFor { server.messages().count == 1 }
        let mail = try server.messages()[0]
        #expect(try mail.parsed().headers["Subject"]?.hasPrefix("Godkänn de nya villkoren för Nyheter senast ") == true)
        let path = try Self.path(in: mail, startingWith: "/reconsent/")

        try await app.application.test(.router) { client in
            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok && page.text.contains("Vi räknar nu öppningar") && page.text.contains("version 2"))
            #expect(page.text.contains(#"name="accept_terms" value="yes""#) && page.text.contains(#"action="\#(path)""#))
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE source = 'reconsent'") == 0)

            let missing = try await client.postForm(path, "")
            #expect(missing.status == .unprocessableContent && missing.text.contains("accept-error"))
            let hostile = try await client.postForm(path, "accept_terms=yes&accept_terms=yes")
            #expect(hostile.status == .unprocessableContent)

            let accepted = try await client.postForm(path, "accept_terms=yes", headers: [.userAgent: "Mobil/2"])
            #expect(accepted.status == .ok && accepted.text.contains("du har godkänt de nya villkoren"))
            let again = try await client.postForm(path, "accept_terms=yes")
            #expect(again.status == .ok && again.text.contains("du har godkänt de nya villkoren"))
            #expect(
                try await app.count(
                    "SELECT count(*) FROM consentEvent WHERE source = 'reconsent' AND kind = 'confirmed' AND userAgent = 'Mobil/2'"
                        + " AND termsSHA256 = '\(TermsVersion.digest(Self.newTerms))'"
                ) == 1
            )
            // Another purpose's token, a forged one: 400; a closed re-consent: 410.
            #expect(
                try await client.execute(uri: "/reconsent/" + ManageLink.token(forSubscriber: 1, signer: app.signer), method: .get).status
                    == .badRequest
            )
            #expect(try await client.execute(uri: "/reconsent/x.y", method: .get).status == .badRequest)
            try await app.store.writer.write { db in try db.execute(sql: "UPDATE termsChange SET closedAt = createdAt") }
            let closedForOthers = ReconsentService.token(
                subscriptionId: 99,
                change: TermsChange(
                    id: 1,
                    listId: 1,
                    kind: .reconsent,
                    termsVersionId: 2,
                    version: 2,
                    previousVersion: 1,
                    summary: nil,
                    lastSubscriptionId: 1,
                    createdAt: Date(),
                    deadline: Date().addingTimeInterval(60)
                ),
                signer: app.signer
            )
            #expect(try await client.execute(uri: "/reconsent/" + closedForOthers, method: .get).status == .gone)
        }
        mailerTask.cancel()
        try await mailerTask.value
    }
}
