import Foundation
import GRDB
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Subscription intake in the store")
struct SubscriptionStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a new address becomes pending with its consent request, outbox row and audit entry")
    func newAddress() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let outcome = try await store.database.subscribe(
            try SubscriptionRequest.form("anna@example.se", name: "Anna"),
            resendWindow: 3_600,
            now: now
        )
        guard case .confirmationQueued(let id) = outcome else {
            Issue.record("got \(outcome)")
            return
        }

        let subscription = try await store.sql { db in try Subscription.fetchOne(db, key: id) }
        #expect(subscription?.status == .pending)
        #expect(subscription?.name == "Anna")
        #expect(subscription?.language == .en)
        let consent = try await store.sql { db in try ConsentEvent.fetchAll(db) }
        #expect(consent.count == 1)
        #expect(consent.first?.kind == .requested)
        #expect(consent.first?.ip == "192.0.2.7")
        #expect(consent.first?.userAgent == "TestAgent/1.0")
        #expect(consent.first?.source == "form")
        let outbox = try await store.sql { db in try OutboxMessage.fetchAll(db) }
        #expect(outbox.map(\.kind) == [.confirmation])
        #expect(outbox.first?.subscriptionId == id)
        let actions = try await store.sql { db in try String.fetchAll(db, sql: "SELECT action FROM auditEvent ORDER BY id") }
        #expect(actions == ["list.created", "subscription.requested"])
    }

    @Test("repeats within the resend window send nothing; after it, one more mail with the same link")
    func repeats() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let request = try SubscriptionRequest.form("anna@example.se")
        _ = try await store.database.subscribe(request, resendWindow: 600, now: now)
        let repeated = try await store.database.subscribe(request, resendWindow: 600, now: now.addingTimeInterval(599))
        #expect(repeated == .alreadyPending)
        #expect(try await store.count("outboxMessage") == 1)

        let nonceBefore = try await store.sql { db in try String.fetchOne(db, sql: "SELECT confirmNonce FROM subscription") }
        let later = try await store.database.subscribe(request, resendWindow: 600, now: now.addingTimeInterval(601))
        guard case .confirmationQueued = later else {
            Issue.record("got \(later)")
            return
        }
        #expect(try await store.count("outboxMessage") == 2)
        #expect(try await store.count("subscription") == 1)
        let nonceAfter = try await store.sql { db in try String.fetchOne(db, sql: "SELECT confirmNonce FROM subscription") }
        #expect(nonceBefore == nonceAfter)
    }

    @Test("an active subscriber asking again changes nothing and gets no mail")
    func activeRepeat() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let request = try SubscriptionRequest.form("anna@example.se", name: "Anna")
        _ = try await store.database.subscribe(request, resendWindow: 0, now: now)
        try await store.sql { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = ?", arguments: [Date()])
        }
        var hostile = try SubscriptionRequest.form("ANNA@example.se", name: "Mallory")
        hostile.origin.ip = "203.0.113.9"
        #expect(try await store.database.subscribe(hostile, resendWindow: 0, now: now.addingTimeInterval(10)) == .alreadyActive)
        #expect(try await store.count("outboxMessage") == 1)
        let name = try await store.sql { db in try String.fetchOne(db, sql: "SELECT name FROM subscription") }
        #expect(name == "Anna")
    }

    @Test("an unsubscribed address asking again starts a new double opt-in with a new nonce")
    func resubscribe() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let request = try SubscriptionRequest.form("anna@example.se")
        _ = try await store.database.subscribe(request, resendWindow: 3_600, now: now)
        let oldNonce = try await store.sql { db in
            try db.execute(sql: "UPDATE subscription SET status = 'unsubscribed', endedAt = ?", arguments: [Date()])
            return try String.fetchOne(db, sql: "SELECT confirmNonce FROM subscription")
        }
        let outcome = try await store.database.subscribe(request, resendWindow: 3_600, now: now.addingTimeInterval(5))
        guard case .confirmationQueued = outcome else {
            Issue.record("got \(outcome)")
            return
        }
        let row = try await store.sql { db in try Subscription.fetchOne(db) }
        #expect(row?.status == .pending)
        #expect(row?.confirmNonce != oldNonce)
        #expect(try await store.count("outboxMessage") == 2)
    }

    @Test("unknown and missing lists are refused before anything is stored")
    func lists() async throws {
        let store = try StoreUnderTest()
        await #expect(throws: KuvertError.noDefaultList) {
            try await store.database.subscribe(try SubscriptionRequest.form("a@example.se", list: nil), resendWindow: 0, now: now)
        }
        try await store.addList("first")
        try await store.addList("second")
        await #expect(throws: KuvertError.unknownList("third")) {
            try await store.database.request("a@example.se", list: "third", now: now)
        }
        _ = try await store.database.subscribe(try SubscriptionRequest.form("a@example.se", list: nil), resendWindow: 0, now: now)
        let listSlug = try await store.sql { db in
            try String.fetchOne(db, sql: "SELECT slug FROM mailingList JOIN subscription ON subscription.listId = mailingList.id")
        }
        #expect(listSlug == "first")
        #expect(try await store.count("subscriber") == 1)
    }

    @Test("50 concurrent requests for one address leave exactly one subscription and one mail")
    func concurrentSameAddress() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let database = store.database
        let outcomes = try await withThrowingTaskGroup(of: IntakeOutcome.self) { group in
            for index in 0..<50 {
                group.addTask {
                    let email = index.isMultiple(of: 2) ? "anna@example.se" : "ANNA@Example.SE"
                    return try await database.request(email, resendWindow: 3_600)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 50)
        #expect(outcomes.filter { if case .confirmationQueued = $0 { true } else { false } }.count == 1)
        #expect(try await store.count("subscriber") == 1)
        #expect(try await store.count("subscription") == 1)
        #expect(try await store.count("outboxMessage") == 1)
    }

    @Test("two processes' connections share one file: the second sees the first's writes")
    func twoConnections() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let second = try SQLiteStore.open(path: store.directory + "/kuvert.sqlite")
        _ = try await second.request("anna@example.se", now: now)
        #expect(try await store.database.subscriptions(listSlug: "news", status: .pending).map(\.address) == ["anna@example.se"])
        let mode = try await store.sql { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test("the consent ledger and audit log refuse changes and deletes; erasure may blank network data")
    func appendOnly() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        _ = try await store.database.request("anna@example.se", now: now)
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "UPDATE consentEvent SET kind = 'confirmed'") }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "UPDATE consentEvent SET ip = '10.0.0.1'") }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "DELETE FROM consentEvent") }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "UPDATE auditEvent SET action = 'nothing'") }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "DELETE FROM auditEvent") }
        }
        await #expect(throws: DatabaseError.self) {
            try await store.sql { db in try db.execute(sql: "UPDATE termsVersion SET body = 'changed'") }
        }
        try await store.sql { db in try db.execute(sql: "UPDATE consentEvent SET ip = NULL, userAgent = NULL") }
        #expect(try await store.sql { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM consentEvent WHERE ip IS NULL") } == 1)
        // A pending subscription that expires goes with its ledger.
        try await store.sql { db in try db.execute(sql: "DELETE FROM subscription") }
        #expect(try await store.count("consentEvent") == 0)
        #expect(try await store.count("outboxMessage") == 0)
    }

    @Test("the schema refuses states the domain forbids")
    func strictSchema() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        _ = try await store.database.request("anna@example.se", now: now)
        for statement in [
            "UPDATE subscription SET status = 'confirmed'",
            "UPDATE subscription SET status = 'active'",
            "UPDATE outboxMessage SET status = 'leased'",
            "INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('Bad Slug', 'x', 'en', '2026-01-01')",
            "INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('news', 'x', 'en', '2026-01-01')",
            "INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('ok', 'x', 'de', '2026-01-01')",
            "INSERT INTO subscriber (address, addressKey, createdAt) VALUES ('x', 'anna@example.se', '2026-01-01')",
            "INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source) VALUES (1, 'confirmed', '2026-01-01', 'x')",
        ] {
            await #expect(throws: DatabaseError.self, "\(statement)") {
                try await store.sql { db in try db.execute(sql: statement) }
            }
        }
    }

    @Test("terms versions count up, keep their text and hash")
    func termsVersions() async throws {
        let store = try StoreUnderTest()
        try await store.addList(terms: "Version one")
        let second = try await store.database.publishTerms(listSlug: "news", body: "Version two", actor: "cli", now: now)
        #expect(second.version == 2)
        // sha256sum of the text, computed outside Kuvert.
        #expect(second.sha256 == "15a631aa6d0642e08c78ab08dce2e69207342db40aaa7ab2991184ebbba9664a")
        let summaries = try await store.database.listSummaries()
        #expect(summaries.map(\.termsVersion) == [2])
        await #expect(throws: KuvertError.unknownList("nope")) {
            try await store.database.publishTerms(listSlug: "nope", body: "x", actor: "cli", now: now)
        }
        await #expect(throws: KuvertError.listExists("news")) { try await store.addList() }
    }
}
