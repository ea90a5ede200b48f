import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The delivery journal beside the SQLite store")
struct DeliveryJournalTests {
    /// A holder on this host whose process is gone (no such pid).
    static let gone = LeaseHolder(
        host: LeaseHolder.current.host,
        boot: LeaseHolder.current.boot,
        pid: 4_194_000,
        started: 1
    )

    @Test("every kind of record reads back as written, a reply's tabs and line breaks included")
    func roundTrip() throws {
        let at = Date(timeIntervalSince1970: 1_790_000_000.123)
        let entries = [
            DeliveryRecord.Entry(id: 1, record: .sent(SendOutcome(code: 250, reply: "250 2.0.0 Ok: queued as 4F")), at: at),
            DeliveryRecord.Entry(
                id: 2,
                record: .retry(SendOutcome(code: 451, reply: "451 4.3.0\ttry\r\nlater \\ now"), at: at + 300),
                at: at
            ),
            DeliveryRecord.Entry(id: 3, record: .failed(SendOutcome(code: 550, reply: "550 5.1.1 no such user")), at: at),
            DeliveryRecord.Entry(id: 4, record: .failed(SendOutcome(kind: .transient, code: nil, reply: "Couldn't connect")), at: at),
            DeliveryRecord.Entry(id: 5, record: .skipped(reason: "subscription is unsubscribed"), at: at),
        ]
        var bytes = Array((DeliveryJournal.magic + "\t" + Self.gone.description + "\n").utf8)
        for entry in entries { DeliveryJournal.Entry.encode(entry, into: &bytes) }
        let parsed = try #require(DeliveryJournal.parse(Data(bytes)))
        #expect(parsed.holder == Self.gone)
        #expect(parsed.entries == entries)
        // A line the process did not finish writing is not a record.
        let torn = try #require(DeliveryJournal.parse(Data(bytes + Array("6\tS\td\t250".utf8))))
        #expect(torn.entries == entries)
        #expect(DeliveryJournal.parse(Data("something else\n".utf8)) == nil)
        #expect(DeliveryJournal.parse(Data()) == nil)
    }

    @Test("a mailer that was killed: its journal is put on record before its claims come back, and nothing goes twice")
    func replayAfterCrash() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        for index in 0..<3 { try await harness.subscribe("reader\(index)@example.se") }
        let database = harness.store.database
        // The dead mailer claimed all three, sent the first two (one refused) and was killed.
        let leased = try database.leaseDueMessages(limit: 10, leaseFor: 300, holder: Self.gone, now: Date())
        #expect(leased.count == 3)
        let ids = leased.compactMap(\.message.id)
        let journal = try #require(database.deliveryJournal)
        let file = try journal.open(holder: Self.gone, session: 0)
        try file.append(DeliveryRecord.Entry(id: ids[0], record: .sent(SendOutcome(code: 250, reply: "250 ok")), at: Date()))
        try file.append(
            DeliveryRecord.Entry(
                id: ids[1],
                record: .failed(SendOutcome(code: 550, reply: "550 5.1.1 unknown")),
                at: Date()
            )
        )

        let mailer = try harness.makeMailer()
        let task = Task { try await mailer.run() }
        try await harness.waitForOutbox("every message settled") { messages in
            messages.count == 3 && messages.allSatisfy { $0.status == .sent || $0.status == .failed }
        }
        try await harness.waitUntilLooked(mailer)
        task.cancel()
        try await task.value
        let outbox = try await harness.outbox()
        #expect(outbox.map(\.status) == [.sent, .failed, .sent])
        #expect(outbox[1].lastReplyCode == 550)
        // Only the message without a record went out again.
        #expect(harness.server.messages().map(\.to) == [["reader2@example.se"]])
        let left = try FileManager.default.contentsOfDirectory(atPath: journal.directory)
        #expect(left.isEmpty, "\(left)")
        // Applying it again (a crash between the commit and the removal) changes nothing.
        let again = try database.recordDeliveries(
            [DeliveryRecord.Entry(id: ids[0], record: .failed(SendOutcome(code: 550, reply: "late")), at: Date())],
            heldBy: Self.gone,
            bounceLimit: 1
        )
        #expect(again == 0)
        #expect(try await harness.outbox()[0].status == .sent)
    }

    @Test("a mailer that is running takes over the journal and claims of one that dies beside it, nothing sent twice")
    func replayWhileRunning() async throws {
        let harness = try await MailerHarness { $0.mailer.reclaimInterval = 0.1 }
        try await harness.store.addList()
        for index in 0..<3 { try await harness.subscribe("reader\(index)@example.se") }
        let database = harness.store.database
        // The other mailer: a real process on this host, alive while it claims and sends.
        let other = Process()
        other.executableURL = URL(fileURLWithPath: "/bin/sleep")
        other.arguments = ["60"]
        try other.run()
        defer { if other.isRunning { kill(other.processIdentifier, SIGKILL) } }
        let current = LeaseHolder.current
        let holder = LeaseHolder(
            host: current.host,
            boot: current.boot,
            pid: other.processIdentifier,
            started: try #require(LeaseHolder.startTime(of: other.processIdentifier))
        )
        let ids = try database.leaseDueMessages(limit: 10, leaseFor: 300, holder: holder, now: Date()).compactMap(\.message.id)
        #expect(ids.count == 3)
        let journal = try #require(database.deliveryJournal)
        let file = try journal.open(holder: holder, session: 0)
        try file.append(DeliveryRecord.Entry(id: ids[0], record: .sent(SendOutcome(code: 250, reply: "250 ok")), at: Date()))

        let mailer = try harness.makeMailer()
        let task = Task { try await mailer.run() }
        // While the other lives, its claims and journal are its own.
        try await harness.waitUntilLooked(mailer)
        #expect(try await harness.outbox().map(\.status) == [.leased, .leased, .leased])
        // Killed, as a crashed mailer is (SIGTERM may be ignored, as the test runner ignores it).
        kill(other.processIdentifier, SIGKILL)
        other.waitUntilExit()
        try await harness.waitForOutbox("every message sent") { $0.count == 3 && $0.allSatisfy { $0.status == .sent } }
        try await harness.waitUntilLooked(mailer)
        task.cancel()
        try await task.value
        // The journaled message was not sent again; the other two went once each.
        #expect(harness.server.messages().flatMap(\.to).sorted() == ["reader1@example.se", "reader2@example.se"])
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }

    @Test("a journal that is not one is reported and left alone")
    func unreadable() async throws {
        let harness = try await MailerHarness()
        let journal = try #require(harness.store.database.deliveryJournal)
        try DataDirectory.prepare(journal.directory)
        let path = journal.directory + "/1-1-0-deadbeef.journal"
        try Data("not a journal\n".utf8).write(to: URL(fileURLWithPath: path))
        let found = journal.leftBehind(seenFrom: .current)
        #expect(found.journals.isEmpty)
        #expect(found.unreadable == [path])
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
