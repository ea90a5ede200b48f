import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Campaigns: queueing and delivering newsletters", .serialized)
struct CampaignTests {
    static let body = "# Höstens nyheter\n\nVi ses på **årsmötet** den 3 december.\n\n[Läs mer](https://example.se/arsmote)\n"

    /// Given a list with `active` confirmed subscribers and some that must not get mail.
    func prepare(_ harness: MailerHarness, active: Int, pending: Int = 0, unsubscribed: Int = 0) async throws -> Int64 {
        try await harness.store.addList(name: "Nyheter från Föreningen", language: .sv)
        for index in 0..<(active + pending + unsubscribed) {
            try await harness.subscribe("reader\(index)@example.se", name: index == 0 ? "Anna" : nil)
        }
        try await harness.store.sql { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt WHERE id <= ?", arguments: [active])
            try db.execute(sql: "UPDATE subscription SET status = 'unsubscribed', endedAt = updatedAt WHERE id > ?", arguments: [active + pending])
            // The confirmation mails of this set-up are not what these tests look at.
            try db.execute(sql: "UPDATE outboxMessage SET status = 'skipped'")
        }
        let (html, text) = NewsletterMail.bodies(markdown: Self.body)
        let campaign = try await harness.store.database.createCampaign(
            Campaign(
                listId: 0,
                subject: "Höstens nyheter: årsmöte & räksmörgåsar",
                bodyMarkdown: Self.body,
                bodyHTML: html,
                bodyText: text,
                status: .draft,
                createdAt: Date()
            ),
            listSlug: "news",
            actor: "cli"
        )
        return try #require(campaign.id)
    }

    func newsletters(_ harness: MailerHarness) async throws -> [OutboxMessage] {
        try await harness.outbox().filter { $0.kind == .newsletter }
    }

    @Test("500 confirmed subscribers get exactly one copy each; pending and unsubscribed get none; sending twice adds nothing")
    func exactlyOnce() async throws {
        let harness = try await MailerHarness { $0.mailer.connections = 4 }
        let id = try await prepare(harness, active: 500, pending: 20, unsubscribed: 20)
        #expect(try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 64, actor: "cli") == 500)
        #expect(try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 64, actor: "cli") == 0)
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("all sent", timeout: 60) { messages in
                messages.filter { $0.kind == .newsletter }.allSatisfy { $0.status == .sent }
            }
        }
        // Again, after everything went out: still nothing new.
        #expect(try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 64, actor: "cli") == 0)
        try await harness.withMailer { mailer in try await harness.waitUntilLooked(mailer) }
        let recipients = harness.server.messages().flatMap(\.to)
        #expect(recipients.count == 500)
        #expect(Set(recipients) == Set((0..<500).map { "reader\($0)@example.se" }))
        let progress = try #require(try await harness.store.database.campaignProgress(id: id, now: Date()).first)
        #expect(progress.sent == 500 && progress.remaining == 0)
    }

    @Test("every newsletter carries List-Id, one-click unsubscribe headers and a visible link; Swedish survives")
    func headersAndEncoding() async throws {
        let harness = try await MailerHarness { $0.mail.unsubscribeMailto = "unsubscribe@example.se" }
        let id = try await prepare(harness, active: 2)
        _ = try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        try await harness.withMailer { _ in try await harness.server.waitFor { harness.server.messages().count == 2 } }
        let first = try #require(harness.server.messages().first { $0.to == ["reader0@example.se"] })
        let mail = try first.parsed()
        #expect(mail.defects.isEmpty)
        #expect(mail.headers["Subject"] == "Höstens nyheter: årsmöte & räksmörgåsar")
        #expect(mail.headers["List-Id"] == "Nyheter från Föreningen <news.news.example.se>")
        let header = try #require(mail.headers["List-Unsubscribe"])
        let entries = header.components(separatedBy: ", ")
        #expect(entries.count == 2)
        let unsubscribe = entries[0]
        #expect(unsubscribe.hasPrefix("<https://news.example.se/unsubscribe/") && unsubscribe.hasSuffix(">"))
        let url = String(unsubscribe.dropFirst().dropLast())
        let token = String(url.split(separator: "/").last ?? "")
        #expect(entries[1] == "<mailto:unsubscribe@example.se?subject=unsubscribe%20\(token)>")
        #expect(mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        let text = try #require(mail.part("text/plain")).content
        let html = try #require(mail.part("text/html")).content
        #expect(text.hasPrefix("Hej Anna,"))
        #expect(text.contains("Vi ses på årsmötet den 3 december.") && text.contains("Läs mer (https://example.se/arsmote)"))
        #expect(!text.contains("**"))
        #expect(text.contains(url))
        #expect(html.contains("<strong>årsmötet</strong>") && html.contains("href=\"\(url)\""))
        // The other subscriber has no name: no greeting; the editor's own text comes first.
        let second = try #require(harness.server.messages().first { $0.to == ["reader1@example.se"] }).parsed()
        let unnamed = try #require(second.part("text/plain")).content
        #expect(!unnamed.hasPrefix("Hej") && unnamed.contains("Vi ses på årsmötet"), "\(unnamed)")
        // Each link names its own subscription.
        #expect(second.headers["List-Unsubscribe"] != mail.headers["List-Unsubscribe"])
    }

    @Test("message retention deletes old per-message records; the campaign keeps its totals, the ledger and the audit of processing stay")
    func messageRetention() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 5)
        _ = try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("all sent") { $0.filter { $0.kind == .newsletter }.allSatisfy { $0.status == .sent } }
        }
        // A newsletter is proven by its campaign, not by an audit row per message.
        #expect(try await harness.store.count("auditEvent", where: "action LIKE '%.sent'") == 0)
        let long = Date().addingTimeInterval(-500 * 86_400)
        try await harness.store.sql { db in
            try db.execute(
                sql: "UPDATE outboxMessage SET sentAt = CASE WHEN sentAt IS NULL THEN NULL ELSE ? END, dueAt = ?",
                arguments: [StoreTime.value(long), StoreTime.value(long)]
            )
            try db.execute(
                sql: "UPDATE outboxMessage SET sentAt = ? WHERE id = (SELECT max(id) FROM outboxMessage)",
                arguments: [StoreTime.value(Date())]
            )
            // A per-message row as earlier versions wrote them.
            try db.execute(
                sql: "INSERT INTO auditEvent (occurredAt, actor, action, detail) VALUES (?, 'worker', 'message.sent', 'newsletter #1')",
                arguments: [StoreTime.value(long)]
            )
        }
        let consent = try await harness.store.count("consentEvent")
        let processing = try await harness.store.count("auditEvent", where: "action != 'message.sent'")
        let retention = Retention(
            store: harness.store.database,
            suppression: SuppressionKey(signingKey: SymmetricKey(size: .bits256)),
            confirmTTL: 7 * 86_400,
            retention: 730 * 86_400,
            messageRetention: 400 * 86_400
        )
        #expect(try await retention.purge(now: Date(), dryRun: true).messages == 9)
        let report = try await retention.purge(now: Date(), dryRun: false)
        #expect(report.messages == 9)
        // The newest newsletter was sent just now: it stays.
        #expect(try await harness.store.count("outboxMessage") == 1)
        let progress = try #require(try await harness.store.database.campaignProgress(id: id, now: Date()).first)
        #expect(progress.sent == 5 && progress.remaining == 0 && progress.failed == 0)
        #expect(try await harness.store.count("consentEvent") == consent)
        #expect(try await harness.store.count("auditEvent", where: "action = 'message.sent'") == 0)
        #expect(try await harness.store.count("auditEvent", where: "action != 'message.sent'") == processing + 1)
        // Nothing left to do the second time.
        #expect(try await retention.purge(now: Date(), dryRun: false).messages == 0)
        // The rest of the audit log stays append-only.
        await #expect(throws: (any Error).self) {
            try await harness.store.sql { db in try db.execute(sql: "DELETE FROM auditEvent WHERE action = 'retention.messages'") }
        }
    }

    @Test("someone who unsubscribes between queueing and sending is skipped")
    func unsubscribeBeforeSend() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 3)
        _ = try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        _ = try await harness.store.database.unsubscribe(
            subscriptionId: 2,
            origin: RequestOrigin(ip: nil, userAgent: nil, source: "one-click"),
            now: Date()
        )
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("done") { messages in
                messages.filter { $0.kind == .newsletter }.allSatisfy { $0.status == .sent || $0.status == .skipped }
            }
        }
        #expect(Set(harness.server.messages().flatMap(\.to)) == ["reader0@example.se", "reader2@example.se"])
        let skipped = try await newsletters(harness).filter { $0.status == .skipped }
        #expect(skipped.map(\.subscriptionId) == [2])
        #expect(skipped.first?.lastReply == "subscription is unsubscribed")
    }

    @Test("pause holds delivery back; resume finishes it")
    func pauseAndResume() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 20)
        _ = try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        _ = try await harness.store.database.changeCampaign(id: id, to: .paused, now: Date(), actor: "cli")
        try await harness.withMailer { mailer in
            // A worker that runs and finds only paused messages sends nothing.
            try await harness.waitUntilLooked(mailer)
            #expect(harness.server.messages().isEmpty)
            #expect(try await newsletters(harness).allSatisfy { $0.status == .queued })
            _ = try await harness.store.database.changeCampaign(id: id, to: .sending, now: Date(), actor: "cli")
            mailer.wake()
            try await harness.server.waitFor { harness.server.messages().count == 20 }
        }
        #expect(try await newsletters(harness).allSatisfy { $0.status == .sent })
    }

    @Test("cancel leaves the rest unsent, and a cancelled campaign cannot be sent again")
    func cancel() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 10)
        _ = try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        _ = try await harness.store.database.changeCampaign(id: id, to: .cancelled, now: Date(), actor: "cli")
        try await harness.withMailer { mailer in try await harness.waitUntilLooked(mailer) }
        #expect(harness.server.messages().isEmpty)
        #expect(try await newsletters(harness).allSatisfy { $0.status == .skipped && $0.lastReply == "campaign cancelled" })
        await #expect(throws: KuvertError.self) {
            try await harness.store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        }
        await #expect(throws: KuvertError.self) {
            try await harness.store.database.changeCampaign(id: id, to: .sending, now: Date(), actor: "cli")
        }
    }

    @Test("a campaign sent for later waits until then")
    func scheduled() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 3)
        _ = try await harness.store.database.queueCampaign(
            id: id,
            sendAt: Date().addingTimeInterval(3_600),
            now: Date(),
            batchSize: 10,
            actor: "cli"
        )
        try await harness.withMailer { mailer in try await harness.waitUntilLooked(mailer) }
        #expect(harness.server.messages().isEmpty)
        #expect(try await newsletters(harness).allSatisfy { $0.status == .queued })
    }

    @Test("a test copy of a draft goes to the given address, marked as a test")
    func testCopy() async throws {
        let harness = try await MailerHarness()
        let id = try await prepare(harness, active: 3)
        _ = try await harness.store.database.queueTestMessage(campaignId: id, to: try EmailAddress("editor@example.se"), now: Date())
        try await harness.withMailer { _ in try await harness.server.waitFor { harness.server.messages().count == 1 } }
        let mail = try #require(harness.server.messages().first)
        #expect(mail.to == ["editor@example.se"])
        let parsed = try mail.parsed()
        #expect(parsed.headers["Subject"] == "[TEST] Höstens nyheter: årsmöte & räksmörgåsar")
        #expect(try #require(parsed.part("text/plain")).content.contains("TESTEXEMPLAR"))
        #expect(try await newsletters(harness).isEmpty)
    }

    @Test("campaign status gives a time left while mail goes out, and says nothing moves when it stalls")
    func statusLine() {
        let queuedAt = Date(timeIntervalSince1970: 1_800_000_000)
        let campaign = Campaign(
            id: 7,
            listId: 1,
            subject: "Nyheter",
            bodyMarkdown: "",
            bodyHTML: "",
            bodyText: "",
            status: .sending,
            createdAt: queuedAt,
            sendAt: queuedAt,
            queuedAt: queuedAt
        )
        func progress(sentLastMinute: Int, lastSentAt: Date?) -> CampaignProgress {
            CampaignProgress(
                campaign: campaign,
                listSlug: "news",
                queued: 900,
                leased: 32,
                sent: 1_000,
                failed: 0,
                skipped: 0,
                sentLastMinute: sentLastMinute,
                lastSentAt: lastSentAt
            )
        }
        // 1,000 in the first 60 s, the last a second ago: a rate and a time left.
        let moving = progress(sentLastMinute: 1_000, lastSentAt: queuedAt + 59).statusLine(bar: false, now: queuedAt + 60)
        #expect(moving.hasSuffix("queued 932, sent 1000, failed 0, skipped 0, 16.7/s, ETA 56s"), "\(moving)")
        // The same counts, but the last went out 40 s ago: no time left, the stall.
        let stalled = progress(sentLastMinute: 400, lastSentAt: queuedAt + 20).statusLine(bar: false, now: queuedAt + 60)
        #expect(stalled.hasSuffix("skipped 0, nothing sent for 40s (see 'kuvert queue')"), "\(stalled)")
        // Queued and nothing sent yet, 20 s in: stalled too (no worker, or the relay down from the start).
        let never = progress(sentLastMinute: 0, lastSentAt: nil).statusLine(bar: false, now: queuedAt + 20)
        #expect(never.hasSuffix("nothing sent for 20s (see 'kuvert queue')"), "\(never)")
        // A slow rate is no stall: one a minute, the last 50 s ago.
        let slow = CampaignProgress(
            campaign: campaign,
            listSlug: "news",
            queued: 5,
            leased: 0,
            sent: 10,
            failed: 0,
            skipped: 0,
            sentLastMinute: 1,
            lastSentAt: queuedAt + 550
        ).statusLine(bar: false, now: queuedAt + 600)
        #expect(slow.hasSuffix("0.0/s, ETA 300s"), "\(slow)")
        // Paused: a rate, no time left. Done: sent, its end state.
        var paused = progress(sentLastMinute: 1_000, lastSentAt: queuedAt + 59)
        paused.campaign.status = .paused
        #expect(paused.statusLine(bar: false, now: queuedAt + 60).hasSuffix("paused: queued 932, sent 1000, failed 0, skipped 0, 16.7/s"))
        let done = CampaignProgress(
            campaign: campaign,
            listSlug: "news",
            queued: 0,
            leased: 0,
            sent: 1_930,
            failed: 2,
            skipped: 0,
            sentLastMinute: 930,
            lastSentAt: queuedAt + 110
        )
        #expect(done.shownStatus == "sent")
        #expect(
            done.statusLine(bar: false, now: queuedAt + 120).contains("\"Nyheter\" sent: queued 0, sent 1930"),
            "\(done.statusLine(bar: false, now: queuedAt + 120))"
        )
    }
}
