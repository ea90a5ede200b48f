import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Retention: unconfirmed requests expire, people who left are erased")
struct RetentionTests {
    let day: TimeInterval = 86_400
    let suppression = SuppressionKey(signingKey: SymmetricKey(size: .bits256))

    /// A store with: an old pending request, a fresh one, someone unsubscribed
    /// long ago, someone unsubscribed lately, someone bounced long ago, and
    /// someone who left one list long ago but is active on another.
    func scenario() async throws -> (StoreUnderTest, Retention) {
        let store = try StoreUnderTest()
        try await store.addList("news")
        try await store.addList("events")
        let long = Date().addingTimeInterval(-800 * day)
        let recent = Date().addingTimeInterval(-10 * day)
        for (email, list, requested) in [
            ("oldpending@example.se", "news", Date().addingTimeInterval(-8 * day)),
            ("newpending@example.se", "news", Date()),
            ("leftlongago@example.se", "news", long), ("leftlately@example.se", "news", long),
            ("bouncedlongago@example.se", "news", long), ("stays@example.se", "news", long), ("stays@example.se", "events", long),
        ] {
            _ = try await store.database.request(email, list: list, now: requested)
        }
        try await store.sql { db in
            func set(_ email: String, _ list: String, _ status: String, endedAt: Date?) throws {
                try db.execute(
                    sql: """
                        UPDATE subscription SET status = ?, confirmedAt = requestedAt, endedAt = ?
                        WHERE subscriberId = (SELECT id FROM subscriber WHERE addressKey = ?)
                          AND listId = (SELECT id FROM mailingList WHERE slug = ?)
                        """,
                    arguments: [status, endedAt, email, list]
                )
            }
            try set("leftlongago@example.se", "news", "unsubscribed", endedAt: Date().addingTimeInterval(-731 * day))
            try set("leftlately@example.se", "news", "unsubscribed", endedAt: recent)
            try set("bouncedlongago@example.se", "news", "bounced", endedAt: Date().addingTimeInterval(-731 * day))
            try set("stays@example.se", "news", "unsubscribed", endedAt: Date().addingTimeInterval(-731 * day))
            try set("stays@example.se", "events", "active", endedAt: nil)
        }
        let retention = Retention(
            store: store.database,
            suppression: suppression,
            confirmTTL: 7 * day,
            retention: 730 * day
        )
        return (store, retention)
    }

    func addresses(_ store: StoreUnderTest) async throws -> Set<String> {
        Set(try await store.sql { db in try String.fetchAll(db, sql: "SELECT address FROM subscriber WHERE erasedAt IS NULL") })
    }

    @Test("a dry run counts and changes nothing")
    func dryRun() async throws {
        let (store, retention) = try await scenario()
        let before = try await addresses(store)
        let report = try await retention.purge(now: Date(), dryRun: true)
        #expect(report == Retention.Report(expiredPending: 1, erased: 2))
        #expect(try await addresses(store) == before)
    }

    @Test("purge deletes the expired request with its address and erases only those who left long ago, leaving no copy in the WAL")
    func purge() async throws {
        let (store, retention) = try await scenario()
        let report = try await retention.purge(now: Date(), dryRun: false)
        // The two erased people's confirmations, skipped by the erasure and
        // due 800 days ago, are past the message retention too.
        #expect(report == Retention.Report(expiredPending: 1, erased: 2, messages: 2))
        #expect(try await addresses(store) == ["newpending@example.se", "leftlately@example.se", "stays@example.se"])
        // The expired request left no trace of its address in the files.
        // Nor did the erasures, in the file or its WAL (checkpointed once, after the last).
        for file in ["/kuvert.sqlite", "/kuvert.sqlite-wal"] {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: store.directory + file))) ?? Data()
            for gone in ["oldpending@example.se", "leftlongago@example.se", "bouncedlongago@example.se"] {
                #expect(data.range(of: Data(gone.utf8)) == nil, "\(gone) in \(file)")
            }
        }
        let actions = try await store.sql { db in try String.fetchAll(db, sql: "SELECT action FROM auditEvent") }
        #expect(actions.contains("retention.expired-pending"))
        #expect(actions.filter { $0 == "subscriber.erased" }.count == 2)
        // Running again finds nothing more.
        #expect(try await retention.purge(now: Date(), dryRun: false) == Retention.Report(expiredPending: 0, erased: 0))
    }

    @Test("serve's retention job applies retention when it starts and stops on cancellation")
    func service() async throws {
        let (store, retention) = try await scenario()
        var logger = Logger(label: "retention-test")
        logger.logLevel = .critical
        let task = Task { try await RetentionService(retention: retention, logger: logger).run() }
        try await eventually(timeout: 60, "retention applied") {
            try await addresses(store) == ["newpending@example.se", "leftlately@example.se", "stays@example.se"]
        }
        task.cancel()
        try await task.value
        #expect(try await store.count("suppression") == 2)
    }

    @Test("the finished-message index serves retention's condition, and a delivery record builds no temporary b-tree for it")
    func finishedIndex() async throws {
        let store = try StoreUnderTest()
        try await store.sql { db in
            // INDEXED BY fails ("no query solution") unless the condition implies the index's.
            _ = try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM outboxMessage INDEXED BY outboxMessage_finished
                    WHERE \(SQLiteStore.finishedCondition) AND coalesce(sentAt, dueAt) < '2030'
                    """
            )
            // IN lists in the index's condition and the table's CHECK cost three
            // temporary b-trees a record.
            let program = try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN UPDATE outboxMessage SET status = ?, sentAt = ?, leaseExpiresAt = NULL, leaseHolder = NULL WHERE id = ?
                    """,
                arguments: ["sent", "2026-12-04 00:00:00.000", 1]
            )
            #expect(program.filter { ($0["opcode"] as String) == "OpenEphemeral" }.count == 0)
        }
    }

    @Test("the tables' CHECKs hold without IN lists: every row intake writes is checked in place, and bad values are still refused")
    func checksWithoutInLists() async throws {
        #expect(
            SQLiteStore.withoutInLists("status TEXT CHECK (status IN ('a', 'b-c', 'd')), e INTEGER CHECK (e IN (0, 1))")
                == "status TEXT CHECK ((status = 'a' OR status = 'b-c' OR status = 'd')), e INTEGER CHECK ((e = 0 OR e = 1))"
        )
        #expect(SQLiteStore.withoutInLists("CHECK (event IN (\n    'x.y', 'z'))") == "CHECK ((event = 'x.y' OR event = 'z'))")
        #expect(SQLiteStore.withoutInLists("CHECK (s NOT IN ('a', 'b'))") == "CHECK (s NOT IN ('a', 'b'))")
        let store = try StoreUnderTest()
        try await store.addList("news")
        _ = try await store.database.request("anna@example.se", list: "news")
        try await store.sql { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '% IN (%'") == 0)
            for statement in [
                "INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, updatedAt) VALUES (1, 1, 'pending', 'sv', '0123456789abcdef', 'x', 'x')",
                "INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source) VALUES (1, 'requested', 'x', 'api')",
                "INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, createdAt) VALUES ('confirmation', 1, 'queued', 'x', 'x')",
            ] {
                let program = try Row.fetchAll(db, sql: "EXPLAIN " + statement)
                #expect(program.filter { ($0["opcode"] as String) == "OpenEphemeral" }.count == 0, "\(statement)")
            }
            for bad in [
                "UPDATE outboxMessage SET status = 'lost'", "UPDATE outboxMessage SET kind = 'spam'",
                "UPDATE subscription SET status = 'maybe'", "UPDATE subscription SET language = 'de'",
                "UPDATE consentEvent SET kind = 'assumed'",
            ] {
                #expect(throws: DatabaseError.self, "\(bad)") { try db.execute(sql: bad) }
            }
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
        }
    }

    @Test("a store of schema v8 with rows in it upgrades to the OR-written constraints and keeps every row")
    func upgradeFromV8() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-v8-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v8-webhooks")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('news', 'News', 'sv', '2026-01-01 00:00:00.000');
                    INSERT INTO subscriber (address, addressKey, createdAt) VALUES ('a@example.se', 'a@example.se', '2026-01-01 00:00:00.000');
                    INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, updatedAt)
                    VALUES (1, 1, 'pending', 'sv', '0123456789abcdef', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000');
                    INSERT INTO outboxMessage (kind, subscriptionId, status, dueAt, createdAt, sentAt)
                    VALUES ('confirmation', 1, 'sent', '2026-01-01 00:00:00.000', '2026-01-01 00:00:00.000', '2026-01-01 00:00:01.000');
                    """
            )
        }
        try SQLiteStore.migrator.migrate(queue)
        let (check, inLists, finished, pending) = try queue.read { db in
            (
                try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '% IN (%'"),
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM outboxMessage INDEXED BY outboxMessage_finished
                        WHERE \(SQLiteStore.finishedCondition) AND coalesce(sentAt, dueAt) < '2030'
                        """
                ),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription WHERE status = 'pending'")
            )
        }
        #expect(check == ["ok"])
        #expect(inLists == 0)
        #expect(finished == 1)
        #expect(pending == 1)
        #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'lost'") }
        }
    }

    @Test("serve's retention job tries a failed purge again soon, not an hour later")
    func serviceRetriesAfterFailure() async throws {
        let (store, retention) = try await scenario()
        // The store refuses every deletion of a person until the trigger goes.
        try await store.sql { db in
            try db.execute(sql: "CREATE TRIGGER refuse BEFORE DELETE ON subscriber BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
        let logs = LogSink.memory()
        let logger = Logger(label: "retention-test") { KuvertLogHandler(label: $0, format: .text, level: .info, output: logs) }
        let task = Task {
            try await RetentionService(
                retention: retention,
                interval: .seconds(3_600),
                retryAfterFailure: .milliseconds(200),
                logger: logger
            ).run()
        }
        try await eventually(timeout: 60, "the first purge failed") { logs.written.contains { $0.contains("retention failed") } }
        #expect(try await addresses(store).contains("oldpending@example.se"))
        try await store.sql { db in try db.execute(sql: "DROP TRIGGER refuse") }
        try await eventually(timeout: 60, "retention applied on a later try") {
            try await addresses(store) == ["newpending@example.se", "leftlately@example.se", "stays@example.se"]
        }
        task.cancel()
        try await task.value
    }

    @Test("a stored address that today's validator refuses is erased all the same, and suppressed under its stored key")
    func addressTheValidatorNowRefuses() async throws {
        let (store, retention) = try await scenario()
        // As if an older, laxer validator had let this in: stored as it came.
        let stored = "old..dots@example.se"
        #expect(throws: (any Error).self) { try EmailAddress(stored) }
        try await store.sql { db in
            try db.execute(
                sql: "UPDATE subscriber SET address = ?, addressKey = ? WHERE addressKey = 'leftlongago@example.se'",
                arguments: [stored, stored]
            )
        }
        let report = try await retention.purge(now: Date(), dryRun: false)
        #expect(report.erased == 2)
        #expect(!(try await addresses(store)).contains(stored))
        #expect(try await store.count("subscriber", where: "erasedAt IS NOT NULL") == 2)
        #expect(try await store.database.isSuppressed(suppression.hash(addressKey: stored)))
    }

    @Test("addresses are redacted from logged SMTP replies")
    func redaction() {
        #expect(
            LogRedaction.addresses(in: "550 5.1.1 <anna@example.se>: Recipient address rejected")
                == "550 5.1.1 <<address>>: Recipient address rejected"
        )
        #expect(LogRedaction.addresses(in: "451 4.3.0 Try again later") == "451 4.3.0 Try again later")
    }
}
