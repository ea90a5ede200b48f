import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// The webhook outbox on both stores: queued with the change it reports, in
/// order per subscription, rendered as the person's data stands when sent.
/// Part of the scenario suite, so it shares the suite's PostgreSQL cluster.
extension StoreScenarioTests {
    @Test(
        "changes queue events only while webhooks are on; a subscription's events lease in order; erasure leaves no address",
        arguments: StoreKind.allCases
    )
    func webhookOutbox(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            let origin = RequestOrigin(ip: nil, userAgent: nil, source: "web")
            let bo = try await subject.store.activate("bo@example.se", now: now)
            #expect(try await subject.count("webhookEvent") == 0)

            try await store.setWebhooks(enabled: true)
            let ann = try await subject.store.activate("ann@example.se", now: now)
            _ = try await store.unsubscribe(subscriptionId: ann, origin: origin, now: now)
            _ = try await store.unsubscribe(subscriptionId: bo, origin: origin, now: now)
            // A pending subscription's end is nobody else's business; a repeat changes nothing.
            _ = try await store.request("cy@example.se", resendWindow: 600, now: now)
            _ = try await store.unsubscribe(subscriptionId: ann, origin: origin, now: now)
            #expect(
                try await subject.texts("SELECT event FROM webhookEvent ORDER BY id")
                    == ["subscription.confirmed", "subscription.unsubscribed", "subscription.unsubscribed"]
            )

            // Ann's second event waits for her first; Bo's goes beside it.
            func lease(at time: Date = now) async throws -> [WebhookEvent] {
                try await store.leaseDueWebhooks(limit: 10, leaseFor: 60, holder: Self.holder, now: time)
            }
            var leased = try await lease()
            #expect(leased.map(\.kind) == [.confirmed, .unsubscribed] && leased.map(\.subscriptionId) == [ann, bo])
            #expect(leased.map(\.address) == ["ann@example.se", "bo@example.se"] && leased.allSatisfy { $0.listSlug == "news" })
            let body = try #require(try JSONSerialization.jsonObject(with: leased[0].body()) as? [String: Any])
            #expect(Set(body.keys) == ["event", "at", "list", "subscription", "email"])
            #expect(body["event"] as? String == "subscription.confirmed" && body["subscription"] as? Int == Int(ann))
            #expect(try await lease().isEmpty)
            let (first, boEvent) = (leased[0].id, leased[1].id)
            try await store.recordWebhook(id: first, delivered: false, reply: "HTTP 503", retryAt: now, now: now)
            leased = try await lease()
            #expect(leased.map(\.id) == [first] && leased[0].attempts == 1 && leased[0].lastReply == "HTTP 503")
            try await store.recordWebhook(id: first, delivered: true, reply: "HTTP 200", retryAt: nil, now: now)
            leased = try await lease()
            #expect(leased.map(\.kind) == [.unsubscribed] && leased.map(\.subscriptionId) == [ann])
            try await store.recordWebhook(id: leased[0].id, delivered: false, reply: "HTTP 500", retryAt: nil, now: now)

            // Erased while its event is in flight: the event, and the erasure's own, carry no address.
            #expect(
                try await store.erase(try EmailAddress("bo@example.se"), suppressionHash: String(repeating: "b", count: 64), actor: "test", now: now)
            )
            let overview = try await store.webhookOverview(limit: 10)
            #expect(overview.counts[.sent] == 1 && overview.counts[.failed] == 1 && overview.counts[.leased] == 1 && overview.counts[.queued] == 1)
            #expect(overview.waiting.map(\.kind) == [.unsubscribed, .erased] && overview.waiting.allSatisfy { $0.address == nil })
            try await store.recordWebhook(id: boEvent, delivered: true, reply: "HTTP 204", retryAt: nil, now: now)
            leased = try await lease()
            #expect(leased.map(\.kind) == [.erased] && leased[0].subscriptionId == bo)
            let erased = try #require(try JSONSerialization.jsonObject(with: leased[0].body()) as? [String: Any])
            #expect(erased["email"] == nil && erased["event"] as? String == "subscriber.erased")
            // A lease that ran out comes back.
            #expect(try await lease(at: now.addingTimeInterval(61)).map(\.id) == leased.map(\.id))

            // A bounce after the relay took the mail: the subscription is bounced, and told.
            let eva = try await subject.store.activate("eva@example.se", now: now)
            let message = Int64(try await subject.texts("SELECT max(id) FROM outboxMessage WHERE subscriptionId = \(eva)")[0])!
            let report = BounceReport.deliveryStatus(status: "5.1.1", action: "failed", diagnostic: "smtp; 550 5.1.1 no such user")
            _ = try await store.recordBounce(BounceEvent(report: report, messageId: message, receivedAt: now), bounceLimit: 3)
            #expect(
                try await subject.texts("SELECT event FROM webhookEvent WHERE subscriptionId = \(eva) ORDER BY id")
                    == ["subscription.confirmed", "subscription.bounced"]
            )

            try await store.setWebhooks(enabled: false)
            _ = try await subject.store.activate("dag@example.se", now: now)
            #expect(try await subject.count("webhookEvent") == 6)
        }
    }
}
