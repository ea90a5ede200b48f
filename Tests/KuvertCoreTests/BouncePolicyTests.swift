import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("One bounce policy: a missing mailbox bounces at once, other permanent failures in a row at the limit")
struct BouncePolicyTests {
    static let missing = DeliveryRecord.failed(SendOutcome(code: 550, reply: "550 5.1.1 No such user"))
    static let mailbox = DeliveryRecord.failed(SendOutcome(code: 552, reply: "552 5.2.2 Mailbox full"))
    static let policy = DeliveryRecord.failed(SendOutcome(code: 550, reply: "550 5.7.1 Refused by policy"))
    static let transientFailed = DeliveryRecord.failed(SendOutcome(code: 451, reply: "451 4.4.1 Try later"))
    static let delivered = DeliveryRecord.sent(SendOutcome(code: 250, reply: "250 OK"))

    @Test(
        "each record's effect",
        arguments: [
            (missing, BouncePolicy.Effect.bouncesNow), (mailbox, .countsTowardsBounce), (policy, .none), (transientFailed, .none),
            (delivered, .resetsCount),
            (.retry(SendOutcome(code: 451, reply: "451 later"), at: Date()), .none), (.skipped(reason: "gone"), .none),
        ]
    )
    func effects(record: DeliveryRecord, effect: BouncePolicy.Effect) {
        #expect(BouncePolicy.effect(of: record) == effect)
    }

    /// Queues one confirmation for the same subscription per record, leases it
    /// and records what became of it, as the mailer does; returns the final status.
    func status(after records: [DeliveryRecord], limit: Int) async throws -> String? {
        let store = try StoreUnderTest()
        try await store.addList()
        for record in records {
            _ = try await store.database.request("anna@example.se")
            let leased = try store.database.leaseDueMessages(limit: 10, leaseFor: 60, holder: .current, now: Date())
            try #require(leased.count == 1)
            try store.database.recordDelivery(try #require(leased[0].message.id), record, bounceLimit: limit, now: Date())
        }
        return try await store.sql { db in try String.fetchOne(db, sql: "SELECT status FROM subscription") }
    }

    @Test("a mailbox that does not exist bounces at once, whatever the limit")
    func missingMailbox() async throws {
        #expect(try await status(after: [Self.missing], limit: 3) == "bounced")
        #expect(try await status(after: [Self.policy, Self.transientFailed], limit: 3) == "pending")
    }

    @Test("two mailbox refusals in a row bounce at a limit of two")
    func mailboxRefusalsInARow() async throws {
        #expect(try await status(after: [Self.mailbox, Self.mailbox], limit: 2) == "bounced")
    }

    @Test("a policy refusal before a mailbox refusal does not make two")
    func policyRefusalsDoNotCount() async throws {
        #expect(try await status(after: [Self.policy, Self.mailbox], limit: 2) == "pending")
        #expect(try await status(after: [Self.policy, Self.policy, Self.policy, Self.transientFailed], limit: 1) == "pending")
    }

    @Test("a policy refusal between mailbox refusals neither counts nor resets")
    func policyRefusalBetween() async throws {
        #expect(try await status(after: [Self.mailbox, Self.policy, Self.mailbox], limit: 2) == "bounced")
    }

    @Test("a delivery between mailbox refusals starts the count again")
    func deliveryResets() async throws {
        #expect(try await status(after: [Self.mailbox, Self.delivered, Self.mailbox], limit: 2) == "pending")
    }

    @Test("the step both stores apply: a subscription that ended only counts, a complaint about it does nothing")
    func steps() {
        let limit = 3
        #expect(BouncePolicy.step(.none, ongoing: true, streak: 2, limit: limit) == .nothing)
        #expect(BouncePolicy.step(.resetsCount, ongoing: false, streak: 2, limit: limit) == .resetCount)
        #expect(BouncePolicy.step(.countsTowardsBounce, ongoing: true, streak: 1, limit: limit) == .count)
        #expect(
            BouncePolicy.step(.countsTowardsBounce, ongoing: true, streak: 2, limit: limit)
                == .bounce(reason: "3 permanent failures in a row")
        )
        #expect(BouncePolicy.step(.countsTowardsBounce, ongoing: false, streak: 9, limit: limit) == .count)
        #expect(BouncePolicy.step(.bouncesNow, ongoing: true, streak: 0, limit: limit) == .bounce(reason: "the mailbox does not exist"))
        #expect(BouncePolicy.step(.bouncesNow, ongoing: false, streak: 0, limit: limit) == .count)
        #expect(BouncePolicy.step(.unsubscribes, ongoing: true, streak: 0, limit: limit) == .unsubscribe)
        #expect(BouncePolicy.step(.unsubscribes, ongoing: false, streak: 0, limit: limit) == .nothing)
    }
}
