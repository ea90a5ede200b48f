import Crypto
import Foundation
import GRDB
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Confirmation: opening the link and accepting the terms")
struct ConfirmationServiceTests {
    let now = Date()
    let signer = TokenSigner(keys: [SymmetricKey(size: .bits256)])
    let origin = RequestOrigin(ip: "198.51.100.4", userAgent: "Browser/2.0", source: "confirm-page")

    /// Given a list and a pending subscription, its confirmation token.
    func pending(
        _ store: StoreUnderTest,
        ttl: TimeInterval = 86_400,
        at time: Date? = nil
    ) async throws
        -> (service: ConfirmationService, token: String, id: Int64)
    {
        try await store.addList(terms: "The terms")
        let outcome = try await store.database.subscribe(
            try SubscriptionRequest.form("anna@example.se"),
            resendWindow: 0,
            now: time ?? now
        )
        guard case .confirmationQueued(let id) = outcome else { throw TestFailure("not queued: \(outcome)") }
        let service = ConfirmationService(store: store.database, signer: signer, confirmTTL: ttl)
        let subscription = try #require(try await store.database.confirmationContext(subscriptionId: id)).subscription
        return (service, service.token(for: subscription), id)
    }

    @Test("opening the link shows the current terms and changes nothing")
    func openChangesNothing() async throws {
        let store = try StoreUnderTest()
        let (service, token, _) = try await pending(store)
        let before = try await store.count("consentEvent")
        let context = try await service.open(token, now: now)
        #expect(context.terms.body == "The terms")
        #expect(context.subscription.status == .pending)
        _ = try await service.open(token, now: now)
        #expect(try await store.count("consentEvent") == before)
        #expect(try await store.database.subscriptions(listSlug: nil, status: .pending).count == 1)
    }

    @Test("accepting activates and records terms version, hash, time, IP and user agent")
    func accept() async throws {
        let store = try StoreUnderTest()
        let (service, token, id) = try await pending(store)
        let answer = try await service.answer(token, accepted: true, termsVersion: 1, origin: origin, now: now)
        guard case .confirmed(let context) = answer else {
            Issue.record("got \(answer)")
            return
        }
        #expect(context.subscription.status == .active)
        let confirmed = try await store.sql { db in
            try ConsentEvent.filter(sql: "kind = 'confirmed' AND subscriptionId = ?", arguments: [id]).fetchOne(db)
        }
        let terms = try #require(try await store.database.confirmationContext(subscriptionId: id)).terms
        #expect(confirmed?.termsVersionId == terms.id)
        #expect(confirmed?.termsSHA256 == terms.sha256)
        #expect(confirmed?.ip == "198.51.100.4")
        #expect(confirmed?.userAgent == "Browser/2.0")
        #expect(abs((confirmed?.occurredAt ?? .distantPast).timeIntervalSince(now)) < 1)
    }

    @Test("without the box ticked nothing changes")
    func notAccepted() async throws {
        let store = try StoreUnderTest()
        let (service, token, _) = try await pending(store)
        let answer = try await service.answer(token, accepted: false, termsVersion: 1, origin: origin, now: now)
        guard case .termsRequired(let context) = answer else {
            Issue.record("got \(answer)")
            return
        }
        #expect(context.subscription.status == .pending)
        #expect(try await store.database.subscriptions(listSlug: nil, status: .active).isEmpty)
    }

    @Test("confirming again is harmless: one consent record, still active")
    func replay() async throws {
        let store = try StoreUnderTest()
        let (service, token, _) = try await pending(store)
        _ = try await service.answer(token, accepted: true, termsVersion: nil, origin: origin, now: now)
        let again = try await service.answer(token, accepted: true, termsVersion: nil, origin: origin, now: now)
        guard case .alreadyActive = again else {
            Issue.record("got \(again)")
            return
        }
        let confirmations = try await store.sql { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM consentEvent WHERE kind = 'confirmed'")
        }
        #expect(confirmations == 1)
    }

    @Test("new terms published after the page was shown must be read first")
    func termsChanged() async throws {
        let store = try StoreUnderTest()
        let (service, token, _) = try await pending(store)
        _ = try await store.database.publishTerms(listSlug: "news", body: "New terms", actor: "cli", now: now)
        let answer = try await service.answer(token, accepted: true, termsVersion: 1, origin: origin, now: now)
        guard case .termsRequired(let context) = answer else {
            Issue.record("got \(answer)")
            return
        }
        #expect(context.terms.version == 2)
        let second = try await service.answer(token, accepted: true, termsVersion: 2, origin: origin, now: now)
        guard case .confirmed(let confirmed) = second else {
            Issue.record("got \(second)")
            return
        }
        #expect(confirmed.terms.body == "New terms")
    }

    @Test("an expired link is refused as expired")
    func expired() async throws {
        let store = try StoreUnderTest()
        let (service, token, _) = try await pending(store, ttl: 60, at: now.addingTimeInterval(-61))
        await #expect(throws: ConfirmationService.LinkError.expired) { try await service.open(token, now: now) }
        await #expect(throws: ConfirmationService.LinkError.expired) {
            try await service.answer(token, accepted: true, termsVersion: nil, origin: origin, now: now)
        }
        #expect(try await store.database.subscriptions(listSlug: nil, status: .active).isEmpty)
    }

    @Test("a link from before an unsubscribe cannot revive the subscription")
    func endedAndRenewed() async throws {
        let store = try StoreUnderTest()
        let (service, oldToken, _) = try await pending(store)
        _ = try await service.answer(oldToken, accepted: true, termsVersion: nil, origin: origin, now: now)
        try await store.sql { db in try db.execute(sql: "UPDATE subscription SET status = 'unsubscribed', endedAt = ?", arguments: [Date()]) }
        await #expect(throws: ConfirmationService.LinkError.noLongerValid) {
            try await service.answer(oldToken, accepted: true, termsVersion: nil, origin: origin, now: now)
        }
        // Asking again makes a new link; the old one stays dead.
        _ = try await store.database.request("anna@example.se", now: now)
        await #expect(throws: ConfirmationService.LinkError.noLongerValid) { try await service.open(oldToken, now: now) }
        #expect(try await store.database.subscriptions(listSlug: nil, status: .pending).count == 1)
    }

    @Test("tampered, foreign and wrong-purpose tokens are invalid")
    func invalidTokens() async throws {
        let store = try StoreUnderTest()
        let (service, token, id) = try await pending(store)
        let nonce = try #require(try await store.database.confirmationContext(subscriptionId: id)).subscription.confirmNonce
        let unsubscribe = signer.sign(Token(purpose: .unsubscribe, subject: "\(id):\(nonce)", expiresAt: nil))
        let foreign = TokenSigner(keys: [SymmetricKey(size: .bits256)])
            .sign(Token(purpose: .confirm, subject: "\(id):\(nonce)", expiresAt: nil))
        for bad in [unsubscribe, foreign, token + "x", String(token.dropLast()), "", "not-a-token"] {
            await #expect(throws: ConfirmationService.LinkError.invalidLink) { try await service.open(bad, now: now) }
            await #expect(throws: ConfirmationService.LinkError.invalidLink) {
                try await service.answer(bad, accepted: true, termsVersion: nil, origin: origin, now: now)
            }
        }
        #expect(try await store.database.subscriptions(listSlug: nil, status: .active).isEmpty)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
