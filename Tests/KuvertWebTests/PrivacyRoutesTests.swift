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

@Suite("Self-service privacy over HTTP, with real mail", .serialized)
struct PrivacyRoutesTests {
    @Test("request a link (same answer for unknown addresses), open it, download, erase")
    func selfService() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Nyheter", language: .sv)
        _ = try await app.store.subscribe(
            SubscriptionRequest(
                address: try EmailAddress("hanna@example.se"),
                listSlug: "news",
                name: "Hanna",
                language: nil,
                origin: RequestOrigin(ip: "198.51.100.9", userAgent: "UA", source: "form"),
                actor: "web"
            ),
            resendWindow: 0,
            now: Date()
        )
        try await app.store.writer.write { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt")
            try db.execute(sql: "UPDATE outboxMessage SET status = 'skipped'")
        }
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await app.application.test(.router) { client in
            let form = try await client.execute(uri: "/privacy", method: .get)
            #expect(form.status == .ok && form.text.contains("action=\"/privacy/request\""))

            let known = try await client.postForm("/privacy/request", "email=hanna%40example.se")
            let unknown = try await client.postForm("/privacy/request", "email=nobody%40example.se")
            #expect(known.status == .ok)
            #expect(known.text == unknown.text)
            let invalid = try await client.postForm("/privacy/request", "email=nonsense", headers: [.accept: "application/json"])
            #expect(invalid.status == .unprocessableContent)

            try await server.waitFor { server.messages().count == 1 }
            let mail = try #require(server.messages().first)
            #expect(mail.to == ["hanna@example.se"])
            let text = try #require(try mail.parsed().part("text/plain")).content
            let url = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test/privacy/") })
            let path = String(url.dropFirst("http://kuvert.test".count))

            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok)
            #expect(page.text.contains("hanna@example.se") && page.text.contains("Nyheter") && page.text.contains("198.51.100.9"))
            // In words and times a Swedish person reads: no codes, no ISO 8601.
            #expect(page.text.contains("Status: aktiv.") && page.text.contains("begärd via formuläret"), "\(page.text)")
            #expect(page.text.contains(" kl. "))
            #expect(try Regex(#"\d{4}-\d{2}-\d{2}T\d{2}"#).firstMatch(in: page.text) == nil, "an ISO time on the page")
            #expect(!page.text.contains(": active") && !page.text.contains("via form<"))

            let download = try await client.execute(uri: path + "/export", method: .get)
            #expect(download.status == .ok)
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"kuvert-export.json\"")
            let json = try JSONSerialization.jsonObject(with: Data(download.text.utf8)) as? [String: Any]
            #expect(json?["address"] as? String == "hanna@example.se")

            // Restriction and its end, from the same page.
            let restricted = try await client.execute(uri: path + "/restrict", method: .post)
            #expect(restricted.status == .ok && restricted.text.contains("Häv begränsningen"), "\(restricted.text)")
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE restrictedAt IS NOT NULL") == 1)
            let lifted = try await client.execute(uri: path + "/unrestrict", method: .post)
            #expect(lifted.status == .ok && lifted.text.contains("Begränsa behandlingen"))
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE restrictedAt IS NOT NULL") == 0)
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE actor = 'web' AND action LIKE 'subscriber.%restricted'") == 2)

            let erased = try await client.execute(uri: path + "/erase", method: .post)
            #expect(erased.status == .ok)
            #expect(erased.text.contains("raderade"))
            // The title says what happened, not what was asked.
            #expect(erased.text.contains("<title>Dina uppgifter är raderade</title>"))
            let after = try await client.execute(uri: path, method: .get)
            #expect(after.status == .gone)
            // A privacy link after erasure: what became of it, and a new privacy link; no subscribe form.
            #expect(
                after.text.contains("Be om en ny länk till dina uppgifter") || after.text.contains("Ask for a new link to your data"),
                "\(after.text)"
            )
            #expect(!after.text.contains("action=\"/subscribe"))
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber WHERE erasedAt IS NOT NULL AND address = ''") == 1)
        let actions = try await app.store.writer.read { db in try String.fetchAll(db, sql: "SELECT action FROM auditEvent") }
        #expect(actions.contains("privacy.link-requested") && actions.contains("subscriber.exported") && actions.contains("subscriber.erased"))
        mailerTask.cancel()
        try await mailerTask.value
    }

    @Test("expired, foreign-purpose and garbage privacy links change nothing")
    func badLinks() async throws {
        let app = try await TestApp()
        try await app.addList()
        let signer = app.signer
        let expired = signer.sign(Token(purpose: .privacy, subject: "1", expiresAt: Date().addingTimeInterval(-1)))
        let unsubscribe = signer.sign(Token(purpose: .unsubscribe, subject: "1", expiresAt: nil))
        try await app.application.test(.router) { client in
            let expiredPage = try await client.execute(uri: "/privacy/" + expired, method: .get)
            let wrongPurpose = try await client.execute(uri: "/privacy/" + unsubscribe, method: .get)
            let wrongErase = try await client.execute(uri: "/privacy/" + unsubscribe + "/erase", method: .post)
            let wrongRestrict = try await client.execute(uri: "/privacy/" + unsubscribe + "/restrict", method: .post)
            let expiredRestrict = try await client.execute(uri: "/privacy/" + expired + "/unrestrict", method: .post)
            #expect(wrongRestrict.status == .badRequest && expiredRestrict.status == .gone)
            let garbage = try await client.execute(uri: "/privacy/garbage/export", method: .get)
            #expect(expiredPage.status == .gone)
            #expect(wrongPurpose.status == .badRequest && wrongErase.status == .badRequest && garbage.status == .badRequest)
        }
    }
}
