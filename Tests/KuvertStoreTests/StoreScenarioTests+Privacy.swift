import Crypto
import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

// API tokens, the outbox as operators see it, privacy and retention, on both stores.
extension StoreScenarioTests {
    @Test("API tokens: created once per active name, found by hash, revoked, the name free again", arguments: StoreKind.allCases)
    func apiTokens(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let now = Date()
            let (first, second) = (APIToken.newSecret(), APIToken.newSecret())
            let token = try await store.createAPIToken(name: "shop", tokenHash: APIToken.hash(first), actor: "cli", now: now)
            #expect(token.id != nil && token.revokedAt == nil)
            await #expect(throws: KuvertError.apiTokenExists("shop")) {
                try await store.createAPIToken(name: "shop", tokenHash: APIToken.hash(second), actor: "cli", now: now)
            }
            #expect(try await store.activeAPIToken(hash: APIToken.hash(first))?.name == "shop")
            #expect(try await store.activeAPIToken(hash: APIToken.hash(second)) == nil)
            #expect(try await store.revokeAPIToken(name: "shop", actor: "cli", now: now))
            #expect(try await !store.revokeAPIToken(name: "shop", actor: "cli", now: now))
            #expect(try await store.activeAPIToken(hash: APIToken.hash(first)) == nil)
            _ = try await store.createAPIToken(name: "shop", tokenHash: APIToken.hash(second), actor: "cli", now: now)
            let tokens = try await store.apiTokens()
            #expect(tokens.map(\.name) == ["shop", "shop"] && tokens[0].revokedAt != nil && tokens[1].revokedAt == nil)
            #expect(try await subject.count("auditEvent", where: "action LIKE 'api-token.%' AND detail = 'shop'") == 3)
        }
    }

    @Test("the outbox as operators see it: overview, depth, one message, retrying failures", arguments: StoreKind.allCases)
    func outbox(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            for index in 0..<3 {
                _ = try await store.request("o\(index)@example.se", resendWindow: 600, now: now)
            }
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 2, leaseFor: 60, holder: Self.holder, now: now) }
            let failedId = try #require(leased.first?.message.id)
            try await subject.delivery {
                try $0.recordDelivery(failedId, .failed(SendOutcome(code: 554, reply: "5.7.1 policy")), bounceLimit: 3, now: now)
            }
            let overview = try await store.queueOverview(now: now, limit: 10)
            #expect(overview.due == 1 && overview.leased == 1 && overview.failed == 1 && overview.sent == 0)
            #expect(overview.waiting.count == 2 && overview.recentFailures.map(\.message.id) == [failedId])
            #expect(overview.recentFailures.first?.address == "o0@example.se" && overview.recentFailures.first?.listSlug == "news")
            let depth = try await store.outboxDepth(now: now)
            #expect(depth.due == 1 && depth.leased == 1 && depth.scheduled == 0 && depth.oldestDueAt != nil)
            let delivery = try #require(try await store.outboxDelivery(id: failedId))
            #expect(delivery.address == "o0@example.se" && delivery.message.lastReplyCode == 554)
            #expect(try await store.outboxDelivery(id: failedId + 100) == nil)
            #expect(try await store.retryFailed(id: nil, actor: "cli", now: now) == [failedId])
            #expect(try await store.retryFailed(id: failedId, actor: "cli", now: now) == [])
            #expect(try await store.outboxMessage(id: failedId)?.status == .queued)
            #expect(try await subject.count("auditEvent", where: "action = 'queue.retry'") == 1)
            #expect(await store.isHealthy())
        }
    }

    @Test("privacy: export, a privacy link once a window, erasure everywhere, suppression, the audit log", arguments: StoreKind.allCases)
    func privacy(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("other")
            let now = Date()
            let id = try await subject.store.activate("eva@example.se")
            _ = try await store.request("eva@example.se", list: "other", name: "Eva", resendWindow: 600, now: now)
            let address = try EmailAddress("Eva@example.se")
            let export = try #require(try await store.export(address, now: now))
            #expect(export.address == "eva@example.se" && export.subscriptions.map(\.list) == ["news", "other"])
            #expect(export.subscriptions[0].consent.map(\.kind) == ["requested", "confirmed"])
            #expect(export.subscriptions[0].consent[1].termsVersion == 1)
            #expect(export.subscriptions[0].messages.map(\.kind) == ["confirmation", "welcome"])
            // The text accepted, not only its hash.
            #expect(
                export.termsAccepted == [
                    SubscriberExport.AcceptedTerms(
                        list: "news",
                        version: 1,
                        sha256: TermsVersion.digest("# Terms\n\nBe nice."),
                        text: "# Terms\n\nBe nice."
                    )
                ]
            )
            #expect(export.auditEvents.map(\.action).contains("subscription.confirmed"))
            #expect(try await store.export(try EmailAddress("nobody@example.se"), now: now) == nil)

            #expect(try await store.requestPrivacyLink(address, resendWindow: 600, now: now))
            #expect(try await !store.requestPrivacyLink(address, resendWindow: 600, now: now.addingTimeInterval(60)))
            #expect(try await !store.requestPrivacyLink(try EmailAddress("nobody@example.se"), resendWindow: 600, now: now))
            let subscriberId = try #require(Int64(try await subject.texts("SELECT subscriberId FROM subscription WHERE id = \(id)").first ?? ""))
            #expect(try await store.subscriberAddress(id: subscriberId)?.value == "eva@example.se")

            let testId = try await store.queueTestMessage(
                campaignId: try #require(
                    try await store.createCampaign(
                        Campaign(listId: 0, subject: "S", bodyMarkdown: "b", bodyHTML: "b", bodyText: "b", status: .draft, createdAt: now),
                        listSlug: "news",
                        actor: "cli"
                    ).id
                ),
                to: address,
                now: now
            )
            let hash = String(repeating: "e", count: 64)
            #expect(try await store.erase(address, suppressionHash: hash, actor: "cli", now: now))
            #expect(try await !store.erase(address, suppressionHash: hash, actor: "cli", now: now))
            #expect(try await !store.erase(subscriberId: subscriberId, suppressionHash: hash, actor: "retention", now: now))
            #expect(try await store.isSuppressed(hash))
            #expect(try await !store.isSuppressed(String(repeating: "f", count: 64)))
            #expect(try await store.subscriberAddress(id: subscriberId) == nil)
            #expect(try await store.export(address, now: now) == nil)
            // Nothing of the person is left in any column.
            for (table, column) in [
                ("subscriber", "address"), ("subscription", "name"), ("consentEvent", "ip"),
                ("consentEvent", "userAgent"), ("outboxMessage", "testRecipient"), ("outboxMessage", "lastReply"),
            ] {
                #expect(
                    try await subject.count(table, where: "\(column) LIKE '%eva%' OR \(column) LIKE '%192.0.2.7%' OR \(column) = 'Eva'") == 0,
                    "\(table).\(column)"
                )
            }
            #expect(try await subject.texts("SELECT status FROM subscription ORDER BY id") == ["unsubscribed", "unsubscribed"])
            #expect(try await subject.texts("SELECT status FROM outboxMessage WHERE id = \(testId)") == ["skipped"])
            #expect(try await subject.count("outboxMessage", where: "status IN ('queued', 'leased')") == 0)
            #expect(try await subject.count("consentEvent", where: "source = 'erasure'") == 2)

            let audit = try await store.recordAudit(AuditEvent(occurredAt: now, actor: "cli", action: "store.backup"), address: nil)
            #expect(audit.id != nil)
            let newest = try await store.auditEvents(address: nil, limit: 2)
            #expect(newest.map(\.action) == ["subscriber.erased", "store.backup"])
            #expect(try await store.auditEvents(address: address, limit: 10).isEmpty)
        }
    }

    @Test(
        "retention: expired requests go with their person, old messages go into their campaign's totals, the departed are found",
        arguments: StoreKind.allCases
    )
    func retention(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            let old = now.addingTimeInterval(-30 * 86_400)
            _ = try await store.request("stale@example.se", resendWindow: 600, now: old)
            _ = try await store.request("fresh@example.se", resendWindow: 600, now: now)
            let leaving = try await subject.store.activate("leaving@example.se", now: old)
            let staying = try await subject.store.activate("staying@example.se", now: old)
            #expect(try await store.expiredPendingCount(before: now.addingTimeInterval(-86_400)) == 1)
            #expect(try await store.deleteExpiredPending(before: now.addingTimeInterval(-86_400), now: now) == 1)
            #expect(try await subject.count("subscriber", where: "addressKey = 'stale@example.se'") == 0)
            #expect(try await subject.count("subscriber") == 3)

            _ = try await store.unsubscribe(subscriptionId: leaving, origin: RequestOrigin(ip: nil, userAgent: nil, source: "web"), now: old)
            let doomed = try await store.subscribersToErase(endedBefore: now.addingTimeInterval(-86_400))
            #expect(doomed.map(\.addressKey) == ["leaving@example.se"])

            let campaign = try #require(
                try await store.createCampaign(
                    Campaign(listId: 0, subject: "S", bodyMarkdown: "b", bodyHTML: "b", bodyText: "b", status: .draft, createdAt: old),
                    listSlug: "news",
                    actor: "cli"
                ).id
            )
            #expect(try await store.queueCampaign(id: campaign, sendAt: old, now: old, batchSize: 10, actor: "cli") == 1)
            let claimed = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: old) }
            for id in claimed.compactMap(\.message.id) {
                try await subject.delivery { try $0.recordDelivery(id, .sent(SendOutcome(code: 250, reply: "ok")), bounceLimit: 3, now: old) }
            }
            // Two confirmations and their welcome receipts (stale's went with it; fresh's is not due) and the newsletter.
            #expect(claimed.count == 5)
            let before = try await store.campaignProgress(id: campaign, now: now).first
            #expect(before?.sent == 1)
            #expect(try await store.oldMessageCount(before: now.addingTimeInterval(-86_400)) == 5)
            #expect(try await store.deleteOldMessages(before: now.addingTimeInterval(-86_400), now: now, batch: 2) == 5)
            #expect(try await subject.count("outboxMessage") == 1)
            let after = try await store.campaignProgress(id: campaign, now: now).first
            #expect(after?.sent == 1 && after?.total == 1)
            #expect(try await subject.count("subscription", where: "id = \(staying)") == 1)
            #expect(try await subject.count("consentEvent") == 6)
        }
    }

    @Test("an address erased before a key rotation stays suppressed for imports while its old key is in the ring", arguments: StoreKind.allCases)
    func suppressionAcrossRotation(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            try await subject.addList()
            let (old, new) = (SymmetricKey(size: .bits256), SymmetricKey(size: .bits256))
            let address = try EmailAddress("gone@example.se")
            _ = try await subject.store.request("gone@example.se", resendWindow: 600)
            let before = KeyRing(keys: [old])
            #expect(try await subject.store.erase(address, suppressionHash: before.suppression.hash(address), actor: "cli", now: Date()))
            func importing(_ ring: KeyRing) async throws -> CSVImport.Report {
                try await CSVImport(store: subject.store, suppression: ring.suppression, resendWindow: 600, rate: 1000)
                    .run("email\nGone@example.se\n", listSlug: "news", actor: "cli", now: Date())
            }
            let rotated = try await importing(KeyRing(keys: [new, old]))
            #expect(rotated.queued == 0 && rotated.refused.first?.reason.hasPrefix("Erased at the person's request") == true)
            // Once the old key leaves the ring, its hashes can no longer be matched: the README says to keep it.
            #expect(try await importing(KeyRing(keys: [new])).queued == 1)
        }
    }
}
