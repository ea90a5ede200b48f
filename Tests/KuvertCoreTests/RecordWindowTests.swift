import Foundation
import GRDB
import KuvertTestSupport
import Synchronization
import Testing
@testable import KuvertCore

/// The duplicate window with records committed beside the sending: no message
/// may be complete at the server while one its session sent before is not on
/// record, or a crash could leave two messages of one session delivered and unrecorded.
@Suite("The record of a message is committed before the next one ends")
struct RecordWindowTests {
    /// A real SMTP session that, when a message's last bytes are about to go,
    /// checks that every message it delivered before is recorded sent.
    final class WindowCheckingTransport: MailTransport {
        let inner: SMTPTransport
        let database: AppDatabase
        let checks: WindowChecks
        private var delivered: [String] = []

        init(inner: SMTPTransport, database: AppDatabase, checks: WindowChecks) {
            self.inner = inner
            self.database = database
            self.checks = checks
        }

        func send(from: String, to: String, message: [UInt8], beforeEnd: () -> Void) -> SendOutcome {
            let earlier = delivered
            let outcome = inner.send(from: from, to: to, message: message) {
                beforeEnd()
                let unrecorded = (try? database.writer.read { db in
                    try String.fetchAll(db, sql: """
                        SELECT p.address FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
                        JOIN subscriber p ON p.id = s.subscriberId
                        WHERE m.status != 'sent' AND p.address IN (\(databaseQuestionMarks(count: earlier.count)))
                        """, arguments: StatementArguments(earlier))
                }) ?? ["the store could not be read"]
                checks.state.withLock { $0.made += 1; $0.violations += unrecorded.map { "\(to) ended before \($0) was recorded" } }
            }
            if outcome.kind == .delivered { delivered.append(to) }
            return outcome
        }
    }

    /// What the sessions' checks found.
    final class WindowChecks: Sendable {
        let state = Mutex<(made: Int, violations: [String])>((0, []))
    }

    @Test("four sessions, 60 messages: each message's end waits for the record of the one before it")
    func recordBeforeNextEnd() async throws {
        let harness = try await MailerHarness()
        try await harness.store.addList()
        for index in 0..<60 { try await harness.subscribe("reader\(index)@example.se") }
        let checks = WindowChecks()
        let database = harness.store.database
        let mailer = try harness.makeMailer { smtp in
            WindowCheckingTransport(inner: try SMTPTransport(settings: smtp), database: database, checks: checks)
        }
        let task = Task { try await mailer.run() }
        try await harness.waitForOutbox("every confirmation sent") { $0.count == 60 && $0.allSatisfy { $0.status == .sent } }
        task.cancel()
        try await task.value
        let (made, violations) = checks.state.withLock { ($0.made, $0.violations) }
        #expect(made == 60)
        #expect(violations.isEmpty, "\(violations.prefix(5))")
        #expect(harness.server.messages().count == 60)
    }
}
