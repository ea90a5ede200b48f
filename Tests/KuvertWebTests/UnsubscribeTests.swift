import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("GET and POST /unsubscribe/{token}")
struct UnsubscribeTests {
    /// Given an active subscriber, the unsubscribe path from their newsletter.
    func activeSubscriber(_ app: TestApp) async throws -> String {
        try await app.addList(language: .sv)
        _ = try await app.store.request("anna@example.se")
        let subscription = try await app.store.writer.write { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt")
            return try Subscription.fetchOne(db)
        }
        return "/unsubscribe/" + UnsubscribeLink.token(for: try #require(subscription), signer: app.signer)
    }

    static let oneClickBodies: [(String, String)] = [
        (
            "multipart/form-data; boundary=----provider",
            "------provider\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n------provider--\r\n"
        ),
        ("application/x-www-form-urlencoded", "List-Unsubscribe=One-Click"),
    ]

    @Test("the one-click POST exactly as a mail provider sends it unsubscribes at once, 200 and no redirect", arguments: oneClickBodies)
    func oneClick(contentType: String, body: String) async throws {
        let app = try await TestApp()
        let path = try await activeSubscriber(app)
        try await app.application.test(.router) { client in
            let response = try await client.execute(
                uri: path,
                method: .post,
                headers: [.contentType: contentType, .userAgent: "Provider/1"],
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .ok)
            #expect(response.headers[.location] == nil)
            #expect(response.text.contains("Du prenumererar inte längre"))
            #expect(response.text.contains("<title>Du prenumererar inte längre på"), "the title says what happened")
            let again = try await client.execute(uri: path, method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: body))
            #expect(again.status == .ok)
        }
        #expect(try await app.status(of: "anna@example.se") == "unsubscribed")
        let withdrawn = try await app.store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT source, userAgent FROM consentEvent WHERE kind = 'withdrawn'")
        }
        #expect(withdrawn.count == 1)
        #expect(withdrawn.first?["source"] == "one-click")
        #expect(withdrawn.first?["userAgent"] == "Provider/1")
    }

    @Test("GET shows a page with one button and changes nothing; the button unsubscribes")
    func pageAndButton() async throws {
        let app = try await TestApp()
        let path = try await activeSubscriber(app)
        try await app.application.test(.router) { client in
            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok)
            #expect(page.text.contains("<form method=\"post\" action=\"\(path)\">"))
            #expect(try await app.status(of: "anna@example.se") == "active")
            let pressed = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(pressed.status == .ok)
        }
        #expect(try await app.status(of: "anna@example.se") == "unsubscribed")
        #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE kind = 'withdrawn' AND source = 'unsubscribe-page'") == 1)
    }

    @Test("confirm tokens and garbage do not unsubscribe anyone")
    func wrongTokens() async throws {
        let app = try await TestApp()
        _ = try await activeSubscriber(app)
        let confirmToken = app.signer.sign(Token(purpose: .confirm, subject: "1", expiresAt: nil))
        try await app.application.test(.router) { client in
            for token in [confirmToken, "garbage", String(repeating: "x", count: 3000)] {
                let response = try await client.execute(uri: "/unsubscribe/" + token, method: .post)
                #expect(response.status == .badRequest)
            }
        }
        #expect(try await app.status(of: "anna@example.se") == "active")
    }
}
