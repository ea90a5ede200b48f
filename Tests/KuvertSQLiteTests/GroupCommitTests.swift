import Foundation
import GRDB
import KuvertFixtures
import Synchronization
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Group commit and the store's time format")
struct GroupCommitTests {
    @Test("concurrent subscriptions commit together and each caller gets its own outcome")
    func concurrentIntake() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let now = Date()
        let outcomes = try await withThrowingTaskGroup(of: IntakeOutcome.self) { group in
            for index in 0..<200 {
                group.addTask {
                    // Every address twice: the second of each pair is a repeat, whatever the order.
                    try await store.database.subscribe(
                        try SubscriptionRequest.form("person\(index / 2)@example.se"),
                        resendWindow: 600,
                        now: now
                    )
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let queued = outcomes.filter { if case .confirmationQueued = $0 { true } else { false } }
        #expect(queued.count == 100)
        #expect(outcomes.filter { $0 == .alreadyPending }.count == 100)
        #expect(try await store.count("subscription") == 100)
        #expect(try await store.count("outboxMessage") == 100)
    }

    @Test("a failing piece rolls back alone; the rest of its group commits")
    func failureIsolated() async throws {
        let (store, writer) = try await Self.notes()
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        try await writer.write { db in
                            try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: ["kept \(index)"])
                            if index % 5 == 0 {
                                // The row above must not survive this piece's failure.
                                try db.execute(sql: "INSERT INTO note (text) VALUES (NULL)")
                            }
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { !$0 }.count == 10)
        #expect(try await store.count("note") == 40)
        let blocking = try writer.writeAndWait { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM note") }
        #expect(blocking == 40)
    }

    @Test("a piece alone in its group that fails leaves nothing behind, and the store goes on")
    func loneFailure() async throws {
        let (store, writer) = try await Self.notes()
        // Nothing else is writing: each call below is a group of one.
        // A row written, then a failure: the row must not survive.
        let halfDone: @Sendable (Database) throws -> Void = { db in
            try db.execute(sql: "INSERT INTO note (text) VALUES ('half')")
            try db.execute(sql: "INSERT INTO note (text) VALUES (NULL)")
        }
        for durability in [GroupCommit.Durability.powerLoss, .processCrash] {
            #expect(throws: DatabaseError.self) { try writer.writeAndWait(durability, halfDone) }
            await #expect(throws: DatabaseError.self) { try await writer.write(durability, halfDone) }
        }
        #expect(try await store.count("note") == 0)
        try writer.writeAndWait(.processCrash) { db in try db.execute(sql: "INSERT INTO note (text) VALUES ('after')") }
        try await writer.write { db in try db.execute(sql: "INSERT INTO note (text) VALUES ('after')") }
        #expect(try await store.count("note") == 2)
        // A relaxed group puts full durability back for whoever writes next.
        let synchronous = try await store.database.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2)
    }

    @Test("a blocking writer writes its own group only; work queued meanwhile goes to the store's thread")
    func blockingWriterHandsOn() async throws {
        let (store, writer) = try await Self.notes()
        // Which thread ran each piece, and whether the blocking caller is inside its group yet.
        final class Seen: Sendable {
            let threads = Mutex<[String: ObjectIdentifier]>([:])
            let writing = Mutex(false)
            let sawAllQueued = Mutex(false)
        }
        let seenBy = Seen()
        let blocking = Thread {
            try? writer.writeAndWait(.processCrash) { db in
                try db.execute(sql: "INSERT INTO note (text) VALUES ('blocking')")
                seenBy.threads.withLock { $0["blocking"] = ObjectIdentifier(Thread.current) }
                seenBy.writing.withLock { $0 = true }
                // Hold this group open until the five writes below have queued behind it.
                let deadline = Date().addingTimeInterval(20)
                while writer.waiting < 5 && Date() < deadline { usleep(1_000) }
                seenBy.sawAllQueued.withLock { $0 = writer.waiting == 5 }
            }
        }
        blocking.start()
        while !seenBy.writing.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        // Queued while the blocking caller's group is being written.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                group.addTask {
                    try await writer.write { db in
                        try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: ["queued \(index)"])
                        seenBy.threads.withLock { $0["queued \(index)"] = ObjectIdentifier(Thread.current) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(seenBy.sawAllQueued.withLock { $0 }, "the five writes never queued behind the open group")
        #expect(try await store.count("note") == 6)
        let seen = seenBy.threads.withLock { $0 }
        let blockingThread = try #require(seen["blocking"])
        #expect(seen.count == 6)
        #expect(seen.filter { $0.key != "blocking" && $0.value == blockingThread }.isEmpty, "queued work ran on the blocking caller's thread")
    }

    @Test("a thread marked as running below the others never writes a group: the store's own thread writes its work")
    func deprioritizedThreadHandsOver() async throws {
        let (store, writer) = try await Self.notes()
        let ran = Mutex<[(caller: ObjectIdentifier, writer: ObjectIdentifier)]>([])
        func writeFromNewThread(deprioritized: Bool) async {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    if deprioritized { GroupCommit.deprioritizeCallingThread() }
                    let caller = ObjectIdentifier(Thread.current)
                    try? writer.writeAndWait(.processCrash) { db in
                        try db.execute(sql: "INSERT INTO note (text) VALUES ('mailer')")
                        ran.withLock { $0.append((caller, ObjectIdentifier(Thread.current))) }
                    }
                    done.resume()
                }
                thread.start()
            }
        }
        // Nothing else is being written: an ordinary caller writes its own group,
        // a deprioritized one hands it to the store's thread.
        await writeFromNewThread(deprioritized: false)
        await writeFromNewThread(deprioritized: true)
        let seen = ran.withLock { $0 }
        #expect(seen.count == 2)
        #expect(seen.first.map { $0.caller == $0.writer } == true, "an ordinary caller did not write its own group")
        #expect(seen.last.map { $0.caller != $0.writer } == true, "a deprioritized caller wrote a group")
        #expect(try await store.count("note") == 2)
    }

    @Test("records write their dates as StoreTime does, not through a DateFormatter")
    func recordDates() throws {
        func strategy<Record: EncodableRecord>(_: Record.Type) -> DatabaseDateEncodingStrategy {
            Record.databaseDateEncodingStrategy(for: "occurredAt")
        }
        let date = Date(timeIntervalSince1970: 1_795_000_000.1234)
        for record in [AuditEvent.self, OutboxMessage.self, Subscription.self, Campaign.self, ConsentEvent.self] as [any EncodableRecord.Type] {
            guard case .custom(let encode) = strategy(record) else {
                Issue.record("\(record) encodes dates with GRDB's default")
                continue
            }
            #expect(encode(date)?.databaseValue == StoreTime.value(date))
        }
    }

    @Test("the store's time text is GRDB's, to the millisecond")
    func timeFormat() {
        var generator = SystemRandomNumberGenerator()
        // Ties before 1970 (-0.0005 s) are where rounding half up and half away from zero differ.
        let samples =
            [0, -86_400.5, -0.0005, -1_042_105_277.2535, 1_800_000_000.9999, 253_402_300_799.123]
            + (0..<20_000).map { _ in
                Double.random(in: -2_000_000_000...4_000_000_000, using: &generator)
            }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(StoreTime.text(date) == String.fromDatabaseValue(date.databaseValue), "\(seconds)")
        }
    }

    /// A store with a `note` table that rejects NULL text, and a group commit over it.
    private static func notes() async throws -> (StoreUnderTest, GroupCommit) {
        let store = try StoreUnderTest()
        try await store.sql { db in try db.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)") }
        return (store, GroupCommit(writer: store.database.writer))
    }
}
