import Crypto
import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

// Campaigns, delivery records and bounces, on both stores.
extension StoreScenarioTests {
    @Test("campaigns: queued in batches once per subscriber, paused, resumed, cancelled; a test copy; progress", arguments: StoreKind.allCases)
    func campaigns(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            for index in 0..<7 { try await subject.store.activate("reader\(index)@example.se") }
            _ = try await store.request("pending@example.se", resendWindow: 600)
            try await subject.execute("UPDATE outboxMessage SET status = 'skipped'")
            let draft = try await store.createCampaign(
                Campaign(
                    listId: 0,
                    subject: "Autumn",
                    bodyMarkdown: "# Hi",
                    bodyHTML: "<h1>Hi</h1>",
                    bodyText: "Hi",
                    status: .draft,
                    createdAt: Date()
                ),
                listSlug: "news",
                actor: "cli"
            )
            let id = try #require(draft.id)
            await #expect(throws: KuvertError.unknownList("gone")) {
                try await store.createCampaign(draft, listSlug: "gone", actor: "cli")
            }
            let foundAndList = try #require(try await store.campaign(id: id))
            let (found, list) = (foundAndList.campaign, foundAndList.list)
            #expect(found.subject == "Autumn" && found.status == .draft && list.slug == "news")
            #expect(try await store.campaign(id: id + 100) == nil)

            let testId = try await store.queueTestMessage(campaignId: id, to: try EmailAddress("editor@example.se"), now: Date())
            #expect(try await store.outboxMessage(id: testId)?.kind == .test)
            #expect(try await store.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 3, actor: "cli") == 7)
            #expect(try await store.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 3, actor: "cli") == 0)
            #expect(try await store.campaign(id: id)?.campaign.status == .sending)
            var progress = try #require(try await store.campaignProgress(id: id, now: Date()).first)
            #expect(progress.queued == 7 && progress.total == 7 && progress.listSlug == "news")

            #expect(try await store.changeCampaign(id: id, to: .paused, now: Date(), actor: "cli").status == .paused)
            // Paused: only the test copy can be claimed.
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 100, leaseFor: 60, holder: Self.holder, now: Date()) }
            #expect(leased.map(\.message.kind) == [.test])
            #expect(leased.first?.address == "editor@example.se" && leased.first?.campaign?.subject == "Autumn")
            #expect(try await store.changeCampaign(id: id, to: .sending, now: Date(), actor: "cli").status == .sending)
            await #expect(throws: KuvertError.self) { try await store.changeCampaign(id: id, to: .draft, now: Date(), actor: "cli") }
            #expect(try await store.changeCampaign(id: id, to: .cancelled, now: Date(), actor: "cli").status == .cancelled)
            progress = try #require(try await store.campaignProgress(id: nil, now: Date()).first)
            #expect(progress.skipped == 7 && progress.queued == 0)
            await #expect(throws: KuvertError.self) { try await store.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 3, actor: "cli") }
            await #expect(throws: KuvertError.unknownCampaign(id + 100)) {
                try await store.changeCampaign(id: id + 100, to: .paused, now: Date(), actor: "cli")
            }
            #expect(
                try await subject.texts("SELECT action FROM auditEvent WHERE action LIKE 'campaign.%' ORDER BY id")
                    == ["campaign.created", "campaign.queued", "campaign.queued", "campaign.paused", "campaign.resumed", "campaign.cancelled"]
            )
        }
    }

    @Test("delivery: claims by holder, records, the bounce limit, expired leases, releases", arguments: StoreKind.allCases)
    func delivery(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            for index in 0..<4 {
                _ = try await store.request("d\(index)@example.se", resendWindow: 600, now: now)
            }
            let first = try await subject.delivery { try $0.leaseDueMessages(limit: 2, leaseFor: 60, holder: Self.holder, now: now) }
            let second = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.other, now: now) }
            #expect(first.count == 2 && second.count == 2)
            #expect(Set(first.compactMap(\.message.id)).isDisjoint(with: second.compactMap(\.message.id)))
            #expect(first.allSatisfy { $0.subscription?.status == .pending && $0.list.slug == "news" && $0.address.hasPrefix("d") })
            let holders = try await subject.delivery { try $0.leaseHolders() }.sorted { $0.holder < $1.holder }
            #expect(holders.map(\.holder) == [Self.holder.description, Self.other.description])
            #expect(holders.map(\.messages) == [2, 2])
            #expect(try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }.isEmpty)

            let sentId = try #require(first[0].message.id)
            try await subject.delivery { try $0.recordDelivery(sentId, .sent(SendOutcome(code: 250, reply: "2.0.0 Ok")), bounceLimit: 2, now: now) }
            let retryId = try #require(first[1].message.id)
            try await subject.delivery {
                try $0.recordDelivery(
                    retryId,
                    .retry(SendOutcome(code: 451, reply: "4.3.0 later"), at: now.addingTimeInterval(30)),
                    bounceLimit: 2,
                    now: now
                )
            }
            #expect(try await store.outboxMessage(id: sentId)?.status == .sent)
            let retried = try #require(try await store.outboxMessage(id: retryId))
            #expect(retried.status == .queued && retried.attempts == 1 && retried.lastReplyCode == 451)
            #expect(try await subject.count("auditEvent", where: "action = 'confirmation.sent'") == 1)

            // The other holder is gone: its claims go back, and are claimed again.
            #expect(try await subject.delivery { try $0.releaseLeases(heldBy: Self.other.description) } == 2)
            #expect(try await subject.delivery { try $0.leaseHolders() }.isEmpty)
            let again = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }
            #expect(again.count == 2)
            try await subject.delivery { try $0.releaseLeases(again.compactMap(\.message.id)) }
            // A lease that expired is claimed by the next worker to ask.
            let expiring = try await subject.delivery { try $0.leaseDueMessages(limit: 1, leaseFor: 1, holder: Self.other, now: now) }
            let reclaimed = try await subject.delivery {
                try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now.addingTimeInterval(5))
            }
            #expect(reclaimed.compactMap(\.message.id).contains(try #require(expiring.first?.message.id)))

            // Permanent failures in a row bounce the subscription at the limit; a delivery resets the count.
            let refused = try #require(reclaimed.first)
            let refusedId = try #require(refused.message.id)
            let mailbox = SendOutcome(code: 552, reply: "552 5.2.2 mailbox full")
            try await subject.delivery { try $0.recordDelivery(refusedId, .failed(mailbox), bounceLimit: 2, now: now) }
            #expect(
                try await subject.texts("SELECT refusalStreak FROM subscription WHERE id = \(try #require(refused.subscription?.id))")
                    == ["1"]
            )
            try await subject.execute("UPDATE outboxMessage SET status = 'queued', attempts = 0 WHERE id = \(try #require(refused.message.id))")
            let next = try await subject.delivery {
                try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now.addingTimeInterval(6))
            }
            #expect(next.map(\.message.id) == [refused.message.id])
            try await subject.delivery { try $0.recordDelivery(refusedId, .failed(mailbox), bounceLimit: 2, now: now) }
            #expect(
                try await subject.texts("SELECT status FROM subscription WHERE id = \(try #require(refused.subscription?.id))")
                    == ["bounced"]
            )
            #expect(try await subject.count("auditEvent", where: "action = 'subscription.bounced'") == 1)
        }
    }

    @Test("30 records at once, sent, retried and refused: each applied as if alone", arguments: StoreKind.allCases)
    func concurrentRecords(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            for index in 0..<30 {
                _ = try await store.request("r\(index)@example.se", resendWindow: 600, now: now)
            }
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 30, leaseFor: 60, holder: Self.holder, now: now) }
            let ids = leased.compactMap(\.message.id)
            #expect(ids.count == 30)
            let later = now.addingTimeInterval(30)
            @Sendable func record(_ position: Int) -> DeliveryRecord {
                switch position % 3 {
                case 0: .sent(SendOutcome(code: 250, reply: "2.0.0 Ok"))
                case 1: .retry(SendOutcome(code: 451, reply: "4.3.0 later"), at: later)
                default: .failed(SendOutcome(code: 550, reply: "550 5.1.1 no such user"))
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (position, id) in ids.enumerated() {
                    group.addTask {
                        try await subject.delivery { try $0.recordDelivery(id, record(position), bounceLimit: 1, now: now) }
                    }
                }
                try await group.waitForAll()
            }
            for (position, id) in ids.enumerated() {
                let message = try #require(try await store.outboxMessage(id: id))
                switch position % 3 {
                case 0:
                    #expect(message.status == .sent && message.sentAt != nil && message.lastReplyCode == 250 && message.attempts == 1)
                case 1:
                    #expect(message.status == .queued && message.sentAt == nil && message.lastReplyCode == 451 && message.attempts == 1)
                    #expect(abs((message.dueAt.timeIntervalSince(later))) < 0.01)
                default:
                    #expect(message.status == .failed && message.sentAt == nil && message.lastReplyCode == 550 && message.attempts == 1)
                }
            }
            #expect(try await subject.count("subscription", where: "status = 'bounced'") == 10)
            #expect(try await subject.count("auditEvent", where: "action = 'subscription.bounced'") == 10)
            #expect(try await subject.count("auditEvent", where: "action = 'confirmation.sent'") == 10)
        }
    }

    @Test(
        "bounces: hard at once, soft at the limit, a delivery resets, a complaint unsubscribes, an erased person stays erased",
        arguments: StoreKind.allCases
    )
    func bounces(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            var messages: [String: Int64] = [:]
            for reader in ["hard", "soft", "complainer", "erased", "ended"] {
                guard
                    case .confirmationQueued = try await store.subscribe(
                        try SubscriptionRequest.form("\(reader)@example.se"),
                        resendWindow: 600,
                        now: now
                    )
                else { throw StoreScenarioError.notQueued }
                messages[reader] = Int64(try await subject.texts("SELECT max(id) FROM outboxMessage")[0])
            }
            func record(_ reader: String, _ report: BounceReport, limit: Int = 2) async throws -> BounceEvent {
                try await store.recordBounce(
                    BounceEvent(report: report, messageId: try #require(messages[reader]), receivedAt: now),
                    bounceLimit: limit
                )
            }
            func status(_ reader: String) async throws -> String {
                try await subject.texts(
                    """
                    SELECT s.status FROM subscription s JOIN subscriber p ON p.id = s.subscriberId
                    WHERE p.addressKey = '\(reader)@example.se' OR (p.erasedAt IS NOT NULL AND '\(reader)' = 'erased')
                    """
                ).first ?? "-"
            }
            let unknown = BounceReport.deliveryStatus(status: "5.1.1", action: "failed", diagnostic: "smtp; 550 5.1.1 <hard@example.se>")
            let full = BounceReport.deliveryStatus(status: "5.2.2", action: "failed", diagnostic: "mailbox full")
            let expired = BounceReport.deliveryStatus(status: "4.4.1", action: "failed", diagnostic: "connection refused")

            // A missing mailbox: bounced at once, whatever the limit.
            let hard = try await record("hard", unknown, limit: 5)
            #expect(hard.outcome == .bounced && hard.kind == .hard && hard.subscriptionId != nil && hard.id != nil)
            #expect(try await status("hard") == "bounced")
            #expect(try await subject.count("auditEvent", where: "action = 'subscription.bounced' AND detail = 'the mailbox does not exist'") == 1)
            // A transient failure, then a full mailbox twice in a row, a delivery between resetting the count.
            #expect(try await record("soft", expired).outcome == .unchanged)
            #expect(try await record("soft", full).outcome == .counted)
            let softMessage = try #require(messages["soft"])
            try await subject.delivery {
                try $0.recordDelivery(softMessage, .sent(SendOutcome(code: 250, reply: "250 ok")), bounceLimit: 2, now: now)
            }
            #expect(try await record("soft", full).outcome == .counted)
            #expect(try await status("soft") == "pending")
            #expect(try await record("soft", full).outcome == .bounced)
            #expect(try await status("soft") == "bounced")
            // A complaint: unsubscribed with a withdrawn entry of source complaint; a second changes nothing.
            #expect(try await record("complainer", .complaint(feedbackType: "abuse")).outcome == .unsubscribed)
            #expect(try await record("complainer", .complaint(feedbackType: "abuse")).outcome == .unchanged)
            #expect(try await status("complainer") == "unsubscribed")
            #expect(try await subject.count("consentEvent", where: "kind = 'withdrawn' AND source = 'complaint'") == 1)
            // An ended subscription is not bounced again.
            try await subject.execute(
                "UPDATE subscription SET status = 'unsubscribed' WHERE id = (SELECT subscriptionId FROM outboxMessage WHERE id = \(messages["ended"]!))"
            )
            #expect(try await record("ended", unknown).outcome == .unchanged)
            #expect(try await status("ended") == "unsubscribed")
            // An erased person: nothing to revive, and no diagnostic kept.
            let erasedAddress = try EmailAddress("erased@example.se")
            #expect(try await store.erase(erasedAddress, suppressionHash: String(repeating: "e", count: 64), actor: "cli", now: now))
            let late = try await record("erased", unknown)
            #expect(late.outcome == .unchanged && late.diagnostic == nil)
            #expect(try await status("erased") == "unsubscribed")
            // A message whose record is gone: kept, naming none.
            let orphan = try await store.recordBounce(
                BounceEvent(report: .autoReply, messageId: 9_999, receivedAt: now),
                bounceLimit: 2
            )
            #expect(orphan.outboxMessageId == nil && orphan.subscriptionId == nil && orphan.outcome == .unchanged)

            // Where an operator and the person see them.
            let latest = try await store.latestBounces(limit: 3)
            #expect(latest.map(\.event.kind) == [.autoReply, .hard, .hard])
            #expect(latest[1].address == nil && latest[2].address == "ended@example.se" && latest[2].listSlug == "news")
            #expect(try await store.bounces(messageId: messages["soft"]!).map(\.outcome) == [.unchanged, .counted, .counted, .bounced])
            let record = try #require(try await store.subscriberRecord(address: try EmailAddress("hard@example.se")))
            #expect(record.subscriptions.first?.bounces.map(\.status) == ["5.1.1"])
            let export = try #require(try await store.export(try EmailAddress("complainer@example.se"), now: now))
            #expect(export.subscriptions.first?.bounces.map(\.kind) == ["complaint", "complaint"])
            #expect(try await subject.count("auditEvent", where: "action = 'bounce.received'") == 10)
            // Erasure of a bounced person drops the diagnostic that quotes the address.
            #expect(
                try await store.erase(try EmailAddress("hard@example.se"), suppressionHash: String(repeating: "f", count: 64), actor: "cli", now: now)
            )
            #expect(try await subject.texts("SELECT coalesce(diagnostic, '-') FROM bounceEvent WHERE id = \(try #require(hard.id))") == ["-"])
            // Message retention takes the events with the messages.
            _ = try await store.deleteOldMessages(before: now.addingTimeInterval(1), now: now, batch: 100)
            #expect(try await subject.count("bounceEvent") == 0)
        }
    }

    @Test("an event a sending service reports twice, even at once, is stored and applied once", arguments: StoreKind.allCases)
    func providerEvents(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            guard
                case .confirmationQueued = try await store.subscribe(try SubscriptionRequest.form("soft@example.se"), resendWindow: 600, now: now)
            else { throw StoreScenarioError.notQueued }
            let message = try #require(Int64(try await subject.texts("SELECT max(id) FROM outboxMessage")[0]))
            func event(_ key: String) -> BounceEvent {
                BounceEvent(
                    receivedAt: now,
                    outboxMessageId: message,
                    subscriptionId: nil,
                    kind: .soft,
                    status: "5.2.2",
                    action: "bounce/bounce",
                    diagnostic: "552 5.2.2 mailbox full",
                    outcome: .unchanged,
                    providerEvent: key
                )
            }
            // Two deliveries of one event at once, then a third later: one counts.
            async let first = store.recordBounce(event("sendgrid:evt-1"), bounceLimit: 2)
            async let second = store.recordBounce(event("sendgrid:evt-1"), bounceLimit: 2)
            let outcomes = [try await first.outcome, try await second.outcome]
            #expect(outcomes.sorted { $0.rawValue < $1.rawValue } == [.counted, .duplicate], "\(outcomes)")
            #expect(try await store.recordBounce(event("sendgrid:evt-1"), bounceLimit: 2).outcome == .duplicate)
            #expect(try await subject.texts("SELECT status || ' ' || refusalStreak FROM subscription") == ["pending 1"])
            #expect(try await subject.count("bounceEvent") == 1)
            #expect(try await subject.count("auditEvent", where: "action = 'bounce.received'") == 1)
            // Another event of the same service is another failure: the limit is reached.
            #expect(try await store.recordBounce(event("sendgrid:evt-2"), bounceLimit: 2).outcome == .bounced)
            #expect(try await store.bounces(messageId: message).map(\.providerEvent) == ["sendgrid:evt-1", "sendgrid:evt-2"])
        }
    }
}

enum StoreScenarioError: Error { case notQueued }
