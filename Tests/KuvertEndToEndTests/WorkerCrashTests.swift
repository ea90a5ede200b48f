import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("A worker process killed mid-batch", .serialized)
struct WorkerCrashTests {
    /// The list `news` with 300 pending subscriptions, each with its confirmation queued.
    static func readers(_ kuvert: KuvertCommand) async throws -> (SQLiteStore, [String]) {
        let store = try await kuvert.newsList()
        let addresses = (0..<300).map { "reader\($0)@example.se" }
        for address in addresses {
            _ = try await store.request(address)
        }
        return (store, addresses)
    }

    @Test("SIGKILL mid-batch and a restart: every message sent at least once, none lost")
    func killAndRestart() async throws {
        let server = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let (store, addresses) = try await Self.readers(kuvert)
        // 50 a second: the kill after 60 messages leaves seconds of sending to
        // interrupt even when a busy machine polls late (at 400 a second a CI run
        // killed the worker only after all 300 were sent).
        let environment = [
            "KUVERT_SMTP_URL": server.url, "KUVERT_SMTP_CONNECTIONS": "4", "KUVERT_LEASE": "1s",
            "KUVERT_SEND_RATE": "50",
        ]
        let first = try kuvert.start("worker", environment: environment)
        try await server.waitFor { server.messages().count >= 60 }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let unsent = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status != 'sent'") ?? 0
        }
        #expect(unsent > 0)

        let second = try kuvert.start("worker", environment: environment.filter { $0.key != "KUVERT_SEND_RATE" })
        try await eventually(timeout: 60, "every message recorded sent") {
            try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status != 'sent'") == 0
            }
        }
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(second.terminationReason == .exit)
        #expect(second.terminationStatus == 0)

        let received = server.messages().flatMap(\.to)
        #expect(Set(received) == Set(addresses))
        // At-least-once: a duplicate only for a message in flight in each of the 4 sessions at the kill.
        #expect(received.count - addresses.count <= 4)
    }

    @Test("kill -9 of kuvert serve mid-campaign and a restart: the dead process's claims go out at once, not after the lease")
    func serveKilledMidCampaign() async throws {
        let server = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let (store, addresses) = try await Self.readers(kuvert)
        // Everyone confirmed long ago; their confirmation mails are done.
        try await store.writer.write { db in
            try db.execute(
                sql: """
                    UPDATE subscription SET status = 'active', confirmedAt = requestedAt;
                    UPDATE outboxMessage SET status = 'sent', sentAt = createdAt;
                    """
            )
        }
        let body = try kuvert.writeTerms("Hello, reader.")
        let created = try await kuvert.run("campaign", "create", "--list", "news", "--subject", "Issue 1", "--body", body)
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The default lease (5 minutes): only knowing the holder is gone can bring its claims back in time.
        let environment = [
            "KUVERT_SMTP_URL": server.url, "KUVERT_SMTP_CONNECTIONS": "4", "KUVERT_SEND_RATE": "50",
            "KUVERT_LISTEN": "127.0.0.1:\(try freeLoopbackPort())",
        ]
        let first = try kuvert.start("serve", environment: environment)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        #expect(try await kuvert.run("campaign", "send", id).status == 0)
        try await server.waitFor { server.messages().count >= 60 }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let claimed = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status = 'leased'") ?? 0
        }
        #expect(claimed > 0, "the kill came when nothing was claimed: the test proves nothing")

        let restart = Date()
        let second = try kuvert.start("serve", environment: environment.filter { $0.key != "KUVERT_SEND_RATE" })
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "every subscriber has the issue") {
            Set(server.messages().flatMap(\.to)).count == addresses.count
        }
        #expect(Date().timeIntervalSince(restart) < 30)
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let received = server.messages().flatMap(\.to)
        #expect(Set(received) == Set(addresses))
        // At most the message in flight in each of the 4 sessions at the kill goes twice.
        #expect(received.count - addresses.count <= 4)
        let unsent = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status != 'sent'") ?? -1
        }
        #expect(unsent == 0)
    }
}
