import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Synchronization
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// The duplicate window, with records in the store's journal and with records
/// committed beside the sending: no message may be complete at the server while
/// one its session sent before is not on record, or a crash could leave two
/// messages of one session delivered and unrecorded.
@Suite("The record of a message is made before the next one ends")
struct RecordWindowTests {
    /// A real SMTP session that, when a message's last bytes are about to go,
    /// checks that every message it delivered before is recorded sent.
    final class WindowCheckingTransport: MailTransport {
        let inner: SMTPTransport
        let database: SQLiteStore
        let checks: WindowChecks
        private var delivered: [String] = []

        init(inner: SMTPTransport, database: SQLiteStore, checks: WindowChecks) {
            self.inner = inner
            self.database = database
            self.checks = checks
        }

        func send(from: String, to: String, message: [UInt8], beforeEnd: () -> Void) -> SendOutcome {
            let earlier = delivered
            let outcome = inner.send(from: from, to: to, message: message) {
                beforeEnd()
                // On record: sent in the store, or sent in a session's journal.
                let journaled = RecordWindowTests.journaledSent(database)
                let unrecorded =
                    (try? database.writer.read { db in
                        try Row.fetchAll(
                            db,
                            sql: """
                                SELECT m.id, p.address FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
                                JOIN subscriber p ON p.id = s.subscriberId
                                WHERE m.status != 'sent' AND p.address IN (\(databaseQuestionMarks(count: earlier.count)))
                                """,
                            arguments: StatementArguments(earlier)
                        )
                    }).map { rows in rows.filter { !journaled.contains($0["id"]) }.map { $0["address"] as String } }
                    ?? ["the store could not be read"]
                checks.state.withLock {
                    $0.made += 1
                    $0.violations += unrecorded.map { "\(to) ended before \($0) was recorded" }
                }
            }
            if outcome.kind == .delivered { delivered.append(to) }
            return outcome
        }
    }

    /// The messages recorded sent in the store's delivery journals.
    static func journaledSent(_ database: SQLiteStore) -> Set<Int64> {
        guard let directory = database.deliveryJournal?.directory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory)
        else { return [] }
        return Set(
            names.filter { $0.hasSuffix(".journal") }.flatMap { name -> [Int64] in
                guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                    let parsed = DeliveryJournal.parse(data)
                else { return [] }
                return parsed.entries.compactMap { entry in
                    if case .sent = entry.record { return entry.id }
                    return nil
                }
            }
        )
    }

    /// What the sessions' checks found.
    final class WindowChecks: Sendable {
        let state = Mutex<(made: Int, violations: [String])>((0, []))
    }

    @Test(
        "four sessions, 60 messages: each message's end comes after the record of the one before it",
        arguments: [true, false]
    )
    func recordBeforeNextEnd(journaled: Bool) async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        for index in 0..<60 { try await harness.subscribe("reader\(index)@example.se") }
        let checks = WindowChecks()
        let database = harness.store.database
        let mailer = try harness.makeMailer(journaled: journaled) { smtp in
            WindowCheckingTransport(inner: try SMTPTransport(settings: smtp), database: database, checks: checks)
        }
        let task = Task { try await mailer.run() }
        try await harness.waitForOutbox("every confirmation sent") { $0.count == 60 && $0.allSatisfy { $0.status == .sent } }
        task.cancel()
        try await task.value
        let (made, violations) = checks.state.withLock { ($0.made, $0.violations) }
        #expect(made == 60)
        #expect(violations.count == 0, "\(violations.prefix(5))")
        #expect(harness.server.messages().count == 60)
        // A session that stopped has its records in the store and leaves no journal.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: try #require(database.deliveryJournal).directory)) ?? []
        #expect(left.isEmpty, "\(left)")
    }
}
