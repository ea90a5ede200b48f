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

@Suite("The manage page over HTTP, from a real newsletter", .serialized)
struct ManageRoutesTests {
    @Test("a newsletter's manage link opens the person's page; joining, leaving, a new name and language are saved; GET changes nothing")
    func fromNewsletter() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.addList("events", name: "Evenemang", language: .sv)
        _ = try await app.store.editList(slug: "events", ListEdit(description: "Inbjudningar, några gånger om året."), actor: "test", now: Date())
        try await app.store.activate("greta@example.se")
        try await app.queueNewsletter("Höstnytt")
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await server.waitFor { server.messages().count == 1 }
        let newsletter = try server.messages()[0].parsed()
        let text = try #require(newsletter.part("text/plain")).content
        let html = try #require(newsletter.part("text/html")).content
        let url = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test/manage/") })
        #expect(html.contains("href=\"\(url)\""), "the HTML part links elsewhere")
        let path = String(url.dropFirst("http://kuvert.test".count))

        try await app.application.test(.router) { client in
            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok && page.headers[.cacheControl] == "no-store")
            #expect(page.text.contains("<h1>Dina prenumerationer</h1>"))
            #expect(
                page.text.contains(#"name="list" value="news" checked"#)
                    && page.text.contains(#"name="list" value="events" aria-describedby="about-events">"#)
            )
            #expect(page.text.contains("Gå med i Evenemang och godkänn dess villkor (version 1)"))
            #expect(page.text.contains("Inbjudningar, några gånger om året."))
            #expect(page.text.contains(#"name="shown" value="news:1 events:1""#))
            // No address on the page: a forwarded newsletter's reader learns nothing more.
            #expect(!page.text.contains("greta@example.se"))
            #expect(try await app.status(of: "greta@example.se") == "active")

            let saved = try await client.postForm(
                path,
                "name=Greta+Berg&locale=en&list=events&shown=news%3A1+events%3A1",
                headers: [.userAgent: "Phone/1"]
            )
            #expect(saved.status == .ok && saved.text.contains("Your changes are saved."), "\(saved.text)")
            #expect(saved.text.contains(#"name="list" value="events" checked"#) && saved.text.contains(#"value="Greta Berg""#))
            #expect(
                try await app.store.writer.read { db in
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT l.slug || ' ' || s.status || ' ' || s.language || ' ' || s.name FROM subscription s
                            JOIN mailingList l ON l.id = s.listId ORDER BY l.id
                            """
                    )
                } == ["news unsubscribed en Greta Berg", "events active en Greta Berg"]
            )
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE source = 'preferences' AND userAgent = 'Phone/1'") == 3)

            // Bad input: the page again with what was wrong, nothing changed.
            let badName = try await client.postForm(path, "name=Eve%0D%0ABcc%3A+x&list=events&shown=events%3A1")
            #expect(badName.status == .unprocessableContent && badName.text.contains("role=\"alert\""))
            let unknownList = try await client.postForm(path, "list=nope&shown=nope%3A1")
            #expect(unknownList.status == .unprocessableContent)
            let duplicate = try await client.postForm(path, "name=a&name=b")
            #expect(duplicate.status == .unprocessableContent)
            let huge = try await client.postForm(path, "name=" + String(repeating: "a", count: 100_000))
            #expect(huge.status == .contentTooLarge)
            let json = try await client.execute(
                uri: path,
                method: .post,
                headers: [.contentType: "text/plain"],
                body: ByteBuffer(string: "leave_all=yes")
            )
            #expect(json.status == .unsupportedMediaType)
            // Terms published meanwhile: shown again, nothing joined.
            _ = try await app.store.publishTerms(listSlug: "news", body: "Nya villkor", actor: "test", now: Date())
            let stale = try await client.postForm(path, "list=events&list=news&shown=news%3A1+events%3A1")
            #expect(stale.status == .conflict && stale.text.contains("(version 2)") && stale.text.contains("<details open>"))
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE status = 'active'") == 1)

            let leftAll = try await client.postForm(path, "leave_all=yes")
            #expect(leftAll.status == .ok)
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE status = 'active'") == 0)
        }
        mailerTask.cancel()
        try await mailerTask.value
    }

    @Test("manage links are bound to their purpose: a privacy or unsubscribe token opens no manage page, a manage token no privacy page")
    func boundToPurpose() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.store.activate("ivar@example.se")
        let signer = app.signer
        let manage = ManageLink.token(forSubscriber: 1, signer: signer)
        let privacy = PrivacyLink.token(forSubscriber: 1, signer: signer, now: Date())
        let unsubscribe = signer.sign(Token(purpose: .unsubscribe, subject: "1", expiresAt: nil))
        let foreign = [privacy, unsubscribe, "garbage", String(repeating: "a", count: 600)]
        try await app.application.test(.router) { client in
            #expect(try await client.execute(uri: "/manage/" + manage, method: .get).status == .ok)
            for token in foreign {
                let shown = try await client.execute(uri: "/manage/" + token, method: .get)
                let posted = try await client.postForm("/manage/" + token, "leave_all=yes")
                #expect(shown.status == .badRequest && posted.status == .badRequest)
            }
            #expect(try await client.execute(uri: "/privacy/" + manage, method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/unsubscribe/" + manage, method: .get).status == .badRequest)
            // Someone never known, or erased: gone.
            let nobody = ManageLink.token(forSubscriber: 99, signer: signer)
            #expect(try await client.execute(uri: "/manage/" + nobody, method: .get).status == .gone)
        }
        #expect(try await app.status(of: "ivar@example.se") == "active")
    }
}
