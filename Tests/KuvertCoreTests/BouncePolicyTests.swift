import Foundation
import GRDB
import KuvertTestSupport
import Testing

@testable import KuvertCore

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
        let store = try TemporaryStore()
        try await store.addList()
        for record in records {
            _ = try await store.database.subscribe(try TemporaryStore.request("anna@example.se"), resendWindow: 0, now: Date())
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
}

@Suite("The README's bounce policy table says what the code does")
struct BouncePolicyTableTests {
    @Test("each row's status codes have the row's kind, and the kind the row's effect")
    func readmeTable() throws {
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Bounces and complaints").dropFirst().first)
        let rows = section.components(separatedBy: "\n### ")[0].split(separator: "\n").filter { $0.hasPrefix("| ") }
        var kinds: Set<BounceKind> = []
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, let kind = BounceKind(rawValue: cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
            else { continue }
            kinds.insert(kind)
            // Every status code the row names, with x read as any digit.
            let codes = cells[0].split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                .filter { $0.split(separator: ".").count == 3 && ["4", "5"].contains($0.first) }
            for code in codes {
                let status = code.replacingOccurrences(of: "x", with: "9")
                let diagnostic = status == "5.4.4" ? "Host or domain name not found. Name service error" : nil
                #expect(BouncePolicy.kind(status: status, diagnostic: diagnostic) == kind, "\(code) in: \(row)")
            }
            let effect = cells[2]
            let expected: BouncePolicy.Effect =
                effect.contains("at once") && effect.contains("bounced")
                ? .bouncesNow
                : effect.hasPrefix("counts")
                    ? .countsTowardsBounce
                    : effect.hasPrefix("unsubscribed") ? .unsubscribes : .none
            #expect(BouncePolicy.effect(of: kind) == expected, "\(row)")
        }
        #expect(kinds == Set(BounceKind.allCases), "every kind has a row")
    }
}
