import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The mailer worker, against a real SMTP server and a real store", .serialized)
struct MailerTests {
    @Test("a confirmation mail arrives, parses cleanly, echoes nothing typed, and its link confirms")
    func confirmationMail() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList(name: "Nyheter från Föreningen", language: .sv)
        try await harness.subscribe("anna@example.se", name: "<b>Köp billigt</b> http://spam.example")
        try await harness.withMailer { _ in
            try await harness.server.waitFor { harness.server.messages().count == 1 }
            try await harness.waitForOutbox("recorded") { $0.first?.status == .sent }
        }
        let received = try #require(harness.server.messages().first)
        #expect(received.from == "news@kuvert.example")
        #expect(received.to == ["anna@example.se"])
        let mail = try received.parsed()
        #expect(mail.defects.isEmpty)
        #expect(mail.headers["Subject"] == "Bekräfta din prenumeration på Nyheter från Föreningen")
        #expect(mail.headers["From"] == "Kuvert Test <news@kuvert.example>")
        #expect(mail.headers["To"] == "anna@example.se")
        #expect(mail.headers["Auto-Submitted"] == "auto-generated")
        #expect(mail.headers["Message-ID"]?.hasSuffix("@kuvert.example>") == true)
        let text = try #require(mail.part("text/plain")).content
        let html = try #require(mail.part("text/html")).content
        for body in [text, html] {
            #expect(body.contains("Nyheter från Föreningen"))
            #expect(body.contains("https://news.example.se/confirm/"))
            #expect(!body.contains("Köp billigt") && !body.contains("spam.example") && !body.contains("anna@"))
        }
        #expect(text.contains("Ingenting händer om du inte bekräftar"))
        #expect(mail.max_line_length <= 78)

        let outbox = try await harness.outbox()
        #expect(outbox.first?.lastReplyCode == 250)
        #expect(outbox.first?.lastReply?.hasPrefix("250 2.0.0 Queued as") == true)
        #expect(outbox.first?.sentAt != nil)
        let sendAudit = try await harness.store.sql { db in
            try AuditEvent.filter(sql: "action = 'confirmation.sent'").fetchOne(db)
        }
        #expect(sendAudit?.actor == "worker")
        #expect(sendAudit?.subscriberId == 1)
        #expect(sendAudit?.detail == "confirmation #1")

        // The link in the mail completes the opt-in.
        let link = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.contains("/confirm/") })
        let token = String(link.split(separator: "/").last ?? "")
        let answer = try await harness.confirmation.answer(
            token,
            accepted: true,
            termsVersion: nil,
            origin: RequestOrigin(ip: "192.0.2.1", userAgent: "Mail client", source: "confirm-page"),
            now: Date()
        )
        guard case .confirmed = answer else {
            Issue.record("got \(answer)")
            return
        }

        // Then the welcome mail, a receipt: the list, when, the version accepted and its text, the person's links.
        try await harness.withMailer { _ in try await harness.server.waitFor { harness.server.messages().count == 2 } }
        let welcome = try harness.server.messages()[1].parsed()
        // Lines within RFC 5322's limit: List-Unsubscribe's URL cannot be folded below 78, as in a newsletter.
        #expect(welcome.defects.isEmpty && welcome.max_line_length <= 998)
        #expect(welcome.headers["Subject"] == "Välkommen: du prenumererar på Nyheter från Föreningen")
        #expect(welcome.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        let receipt = try #require(welcome.part("text/plain")).content
        let receiptHTML = try #require(welcome.part("text/html")).content
        for body in [receipt, receiptHTML] {
            #expect(body.contains("https://news.example.se/terms/news/1"), "\(body)")
            #expect(body.contains("https://news.example.se/manage/") && body.contains("https://news.example.se/unsubscribe/"))
            #expect(body.contains("https://news.example.se/privacy"))
            #expect(body.contains("version 1") && body.contains(" kl. "))
        }
        let words = receipt.split(whereSeparator: \.isWhitespace)
        let manage = try #require(words.first { $0.contains("/manage/") }).split(separator: "/").last.map(String.init) ?? ""
        #expect(try ManageLink.subscriberId(in: manage, signer: harness.signer, now: Date()) == 1)
        let unsubscribe = try #require(words.first { $0.contains("/unsubscribe/") }).split(separator: "/").last.map(String.init) ?? ""
        #expect(UnsubscribeLink.subscriptionId(in: unsubscribe, signer: harness.signer, now: Date()) == 1)
        #expect(welcome.headers["List-Unsubscribe"] == "<https://news.example.se/unsubscribe/\(unsubscribe)>")
    }

    @Test("451 is retried with backoff until delivered")
    func deferredIsRetried() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        try await harness.subscribe("defer-2@example.se")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("delivered") { $0.first?.status == .sent }
        }
        let message = try #require(try await harness.outbox().first)
        #expect(message.attempts == 3)
        #expect(harness.server.events().filter { $0 == "rcpt 451 defer-2@example.se" }.count == 2)
        #expect(harness.server.messages().count == 1)
    }

    @Test("a transient failure gives up after the retry limit")
    func retryLimit() async throws {
        let harness = try await MailerHarness { $0.mailer.retryLimit = 3 }
        try await harness.store.addList()
        try await harness.subscribe("defer-10@example.se")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("failed") { $0.first?.status == .failed }
        }
        let message = try #require(try await harness.outbox().first)
        #expect(message.attempts == 3)
        #expect(message.lastReplyCode == 451)
        #expect(harness.server.messages().isEmpty)
    }

    @Test("550 5.1.1 is not retried, is recorded, and bounces the subscription at once")
    func missingMailbox() async throws {
        let harness = try await MailerHarness { $0.mailer.bounceLimit = 3 }
        try await harness.store.addList()
        try await harness.subscribe("reject@example.se")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("failed") { $0.first?.status == .failed }
        }
        let outbox = try await harness.outbox()
        #expect(outbox.map(\.attempts) == [1] && outbox.first?.lastReply?.contains("5.1.1") == true)
        #expect(try await harness.store.database.subscriptions(listSlug: nil, status: .bounced).count == 1)
        let audit = try await harness.store.sql { db in
            try String.fetchAll(db, sql: "SELECT detail FROM auditEvent WHERE action = 'subscription.bounced'")
        }
        #expect(audit == ["the mailbox does not exist"])
    }

    @Test("552 is not retried, is recorded, and refusals in a row mark the subscription bounced at the limit")
    func rejectedIsPermanent() async throws {
        let harness = try await MailerHarness { $0.mailer.bounceLimit = 2 }
        try await harness.store.addList()
        try await harness.subscribe("full@example.se")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("failed") { $0.first?.status == .failed }
            #expect(try await harness.store.database.subscriptions(listSlug: nil, status: .pending).count == 1)
            // A second request, a second refusal: now it is bounced.
            try await harness.subscribe("full@example.se")
            try await harness.waitForOutbox("second failed") { $0.count == 2 && $0.allSatisfy { $0.status == .failed } }
        }
        let outbox = try await harness.outbox()
        #expect(outbox.map(\.attempts) == [1, 1])
        #expect(outbox.allSatisfy { $0.lastReplyCode == 552 && $0.lastReply?.contains("Mailbox full") == true })
        #expect(harness.server.events().filter { $0.hasPrefix("rcpt 552") }.count == 2)
        #expect(try await harness.store.database.subscriptions(listSlug: nil, status: .bounced).count == 1)
        let audit = try await harness.store.sql { db in
            try String.fetchAll(db, sql: "SELECT action FROM auditEvent WHERE action = 'subscription.bounced'")
        }
        #expect(audit.count == 1)
    }

    @Test("policy refusals fail the message but never bounce the subscriber")
    func policyRefusalIsNoBounce() async throws {
        let harness = try await MailerHarness { $0.mailer.bounceLimit = 1 }
        try await harness.store.addList()
        try await harness.subscribe("policy@example.se")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("failed") { $0.first?.status == .failed }
        }
        #expect(try await harness.outbox().first?.lastReplyCode == 550)
        #expect(try await harness.store.database.subscriptions(listSlug: nil, status: .pending).count == 1)
    }

    @Test("with the server down for a while and then up, nothing is lost and no attempt is spent")
    func serverDownThenUp() async throws {
        let harness = try await MailerHarness { $0.mailer.retryBase = 0.2 }
        try await harness.store.addList()
        let port = harness.server.port
        harness.server.stop()
        for index in 0..<5 { try await harness.subscribe("reader\(index)@example.se") }
        try await harness.withMailer { mailer in
            // A relay that refuses connections is probed; the messages wait as they were (they spent
            // an attempt each, with retryBase 0.2 all eight within seconds, before).
            try await eventually(timeout: 30, "two probes found the relay down") { mailer.failedRelayProbes >= 2 }
            #expect(try await harness.outbox().allSatisfy { $0.status == .queued && $0.attempts == 0 })
            try harness.server.start(port: port)
            try await harness.waitForOutbox("all sent") { $0.allSatisfy { $0.status == .sent && $0.attempts == 1 } }
        }
        let recipients = Set(harness.server.messages().flatMap(\.to))
        #expect(recipients == Set((0..<5).map { "reader\($0)@example.se" }))
    }

    @Test("200 messages over 4 sessions open only a handful of connections")
    func connectionReuse() async throws {
        let harness = try await MailerHarness { $0.mailer.connections = 4 }
        try await harness.store.addList()
        for index in 0..<200 { try await harness.subscribe("reader\(index)@example.se") }
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("all sent", timeout: 60) { $0.allSatisfy { $0.status == .sent } }
        }
        #expect(harness.server.messages().count == 200)
        #expect(Set(harness.server.messages().flatMap(\.to)).count == 200)
        #expect(harness.server.connectionCount <= 4)
    }

    @Test("stopping finishes the message in hand and returns the rest of the claim")
    func gracefulStop() async throws {
        let harness = try await MailerHarness { configuration in
            configuration.mailer.connections = 1
            configuration.mailer.sendRate = 20
        }
        try await harness.store.addList()
        for index in 0..<40 { try await harness.subscribe("reader\(index)@example.se") }
        try await harness.withMailer { _ in
            try await harness.server.waitFor { harness.server.messages().count >= 3 }
        }
        let outbox = try await harness.outbox()
        #expect(!outbox.contains { $0.status == .leased })
        let sent = outbox.filter { $0.status == .sent }.count
        #expect(sent == harness.server.messages().count)
        #expect(sent < 40)
        let queued = outbox.filter { $0.status == .queued }.count
        #expect(queued == 40 - sent)
    }

    @Test("at a slow send rate, records reach the store within a second, not at the end of a batch")
    func recordsWhileBatchRuns() async throws {
        let harness = try await MailerHarness { configuration in
            configuration.mailer.connections = 1
            configuration.mailer.sendRate = 4
        }
        try await harness.store.addList()
        for index in 0..<20 { try await harness.subscribe("reader\(index)@example.se") }
        try await harness.withMailer { _ in
            // One claim of 20 takes 5 s at 4 a second: sent ones show while the rest are still leased.
            try await harness.waitForOutbox("sent while the batch is still under way") { outbox in
                outbox.contains { $0.status == .sent } && outbox.contains { $0.status == .leased }
            }
        }
    }

    @Test("the sender-wide rate limit spaces messages out")
    func rateLimit() async throws {
        let harness = try await MailerHarness { configuration in
            configuration.mailer.connections = 4
            configuration.mailer.sendRate = 25
        }
        try await harness.store.addList()
        for index in 0..<11 { try await harness.subscribe("reader\(index)@example.se") }
        let start = Date()
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("all sent") { $0.allSatisfy { $0.status == .sent } }
        }
        // Eleven messages at 25 per second need at least ten intervals of 40 ms.
        #expect(Date().timeIntervalSince(start) >= 0.4)
    }

    @Test("a confirmation for a subscription confirmed meanwhile is skipped, not sent")
    func staleConfirmationSkipped() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        try await harness.subscribe("anna@example.se")
        try await harness.store.sql { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt")
        }
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("skipped") { $0.first?.status == .skipped }
        }
        #expect(harness.server.messages().isEmpty)
        #expect(try await harness.outbox().first?.lastReply == "subscription is active")
    }

    @Test("a restricted person's mail is skipped as restricted at send; the privacy link they asked for still goes")
    func restrictedSkipped() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        try await harness.subscribe("anna@example.se")
        // Restricted after its mail was claimed elsewhere: the composer still holds it back.
        try await harness.store.sql { db in
            try db.execute(sql: "UPDATE subscriber SET restrictedAt = '2026-12-07T00:00:00.000Z'")
        }
        #expect(try await harness.store.store.requestPrivacyLink(try EmailAddress("anna@example.se"), resendWindow: 0, now: Date()))
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("both finished") { $0.count == 2 && $0.allSatisfy { $0.status == .skipped || $0.status == .sent } }
        }
        let outbox = try await harness.outbox()
        #expect(outbox.map(\.kind) == [.confirmation, .privacy])
        #expect(outbox[0].status == .skipped && outbox[0].lastReply == "restricted")
        #expect(outbox[1].status == .sent)
        #expect(harness.server.messages().count == 1 && harness.server.messages().first?.to == ["anna@example.se"])
    }

    @Test("a request for several lists sends one confirmation mail naming each")
    func severalListsOneMail() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList(name: "Nyheter", language: .sv)
        try await harness.store.addList("events", name: "Evenemang", language: .sv)
        _ = try await harness.store.store.subscribe(try .form("lisa@example.se"), lists: ["news", "events"], resendWindow: 0, now: Date())
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("one sent, one skipped") { outbox in
                outbox.filter { $0.status == .sent }.count == 1 && outbox.filter { $0.status == .skipped }.count == 1
            }
        }
        #expect(harness.server.messages().count == 1)
        let mail = try harness.server.messages()[0].parsed()
        #expect(mail.headers["Subject"] == "Bekräfta dina prenumerationer på Nyheter och Evenemang")
        let text = try #require(mail.part("text/plain")).content
        #expect(text.contains("på nyhetsbreven Nyheter och Evenemang."), "\(text)")
    }
}
