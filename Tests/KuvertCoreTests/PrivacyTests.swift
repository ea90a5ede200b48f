import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Privacy: export, erasure, backup", .serialized)
struct PrivacyTests {
    let suppression = SuppressionKey(signingKey: SymmetricKey(size: .bits256))

    /// Given a confirmed subscriber who received a newsletter.
    func confirmedReader(_ harness: MailerHarness) async throws -> EmailAddress {
        try await harness.store.addList(terms: "The terms")
        let address = try EmailAddress("Hemliga.Hanna@example.se")
        let request = SubscriptionRequest(
            address: address,
            listSlug: "news",
            name: "Hanna Hemlig",
            language: nil,
            origin: RequestOrigin(ip: "198.51.100.77", userAgent: "HannasWebbläsare/9.9", source: "form"),
            actor: "web"
        )
        guard case .confirmationQueued(let id) = try await harness.store.database.subscribe(request, resendWindow: 0, now: Date()) else {
            throw TestFailure("not queued")
        }
        let subscription = try #require(try await harness.store.database.confirmationContext(subscriptionId: id)).subscription
        _ = try await harness.confirmation.answer(
            harness.confirmation.token(for: subscription),
            accepted: true,
            termsVersion: nil,
            origin: RequestOrigin(ip: "198.51.100.77", userAgent: "HannasWebbläsare/9.9", source: "confirm-page"),
            now: Date()
        )
        let (html, text) = NewsletterMail.bodies(markdown: "Hej")
        let campaign = try await harness.store.database.createCampaign(
            Campaign(listId: 0, subject: "Nummer 1", bodyMarkdown: "Hej", bodyHTML: html, bodyText: text, status: .draft, createdAt: Date()),
            listSlug: "news",
            actor: "cli"
        )
        _ = try await harness.store.database.queueCampaign(id: try #require(campaign.id), sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        // The confirmation mail is skipped (confirmed before it left); the welcome receipt and the newsletter go.
        try await harness.withMailer { _ in
            try await harness.waitForOutbox("all three done") { $0.count == 3 && $0.allSatisfy { $0.status == .sent || $0.status == .skipped } }
        }
        return address
    }

    /// Whether any of the store's files (its delivery journals included) holds
    /// `text`, in UTF-8, byte for byte.
    func filesContain(_ harness: MailerHarness, _ text: String) throws -> Bool {
        let needle = Data(text.utf8)
        let directory = harness.store.directory
        return try (FileManager.default.subpaths(atPath: directory) ?? [])
            .filter { path in
                var isDirectory: ObjCBool = false
                return path.hasPrefix("kuvert.sqlite")
                    && FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
            .contains { path in try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path)).range(of: needle) != nil }
    }

    @Test("the export holds subscriptions, consent with terms hash, messages sent and audit events")
    func export() async throws {
        let harness = try await MailerHarness()
        let address = try await confirmedReader(harness)
        let export = try #require(try await harness.store.database.export(address, now: Date()))
        #expect(export.address == "Hemliga.Hanna@example.se")
        let subscription = try #require(export.subscriptions.first)
        #expect(subscription.status == "active" && subscription.name == "Hanna Hemlig")
        #expect(subscription.consent.map(\.kind) == ["requested", "confirmed"])
        #expect(subscription.consent.last?.termsVersion == 1)
        #expect(subscription.consent.last?.termsSHA256 == TermsVersion.digest("The terms"))
        #expect(subscription.consent.last?.ip == "198.51.100.77")
        #expect(subscription.messages.map(\.kind) == ["confirmation", "welcome", "newsletter"])
        #expect(subscription.messages.last?.subject == "Nummer 1" && subscription.messages.last?.sentAt != nil)
        #expect(export.auditEvents.map(\.action).contains("subscription.confirmed"))
        let json = String(decoding: try export.json(), as: UTF8.self)
        #expect(json.contains("\"termsSHA256\""))
        #expect(try await harness.store.database.export(try EmailAddress("nobody@example.se"), now: Date()) == nil)
    }

    @Test("erasure removes address, name, IP and user agent from every table and from the files; proof stays")
    func erasure() async throws {
        let harness = try await MailerHarness()
        let address = try await confirmedReader(harness)
        for secret in ["Hemliga.Hanna@example.se", "hemliga.hanna@example.se", "Hanna Hemlig", "HannasWebbläsare", "198.51.100.77"] {
            #expect(try filesContain(harness, secret), "sanity: \(secret) is in the files before erasure")
        }
        let erased = try await harness.store.database.erase(
            address,
            suppressionHash: suppression.hash(address),
            actor: "cli",
            now: Date()
        )
        #expect(erased)
        for secret in ["Hemliga.Hanna@example.se", "hemliga.hanna@example.se", "Hanna Hemlig", "HannasWebbläsare", "198.51.100.77"] {
            #expect(try !filesContain(harness, secret), "\(secret) is still in the database files")
        }
        // Proof without personal data.
        let consent = try await harness.store.sql { db in try ConsentEvent.order(Column("id")).fetchAll(db) }
        #expect(consent.map(\.kind) == [.requested, .confirmed, .withdrawn])
        #expect(consent.allSatisfy { $0.ip == nil && $0.userAgent == nil })
        #expect(consent[1].termsSHA256 == TermsVersion.digest("The terms"))
        #expect(try await harness.store.count("outboxMessage") == 3)
        #expect(try await harness.store.database.subscriptions(listSlug: nil, status: .unsubscribed).count == 1)
        #expect(try await harness.store.database.isSuppressed(suppression.hash(address)))
        #expect(try await harness.store.database.export(address, now: Date()) == nil)
        let actions = try await harness.store.sql { db in try String.fetchAll(db, sql: "SELECT action FROM auditEvent") }
        #expect(actions.last == "subscriber.erased")
        #expect(try await harness.store.sql { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
        // A second erasure finds nobody.
        #expect(try await !harness.store.database.erase(address, suppressionHash: suppression.hash(address), actor: "cli", now: Date()))
        // The person's own new request still works: a new double opt-in.
        let again = try await harness.store.database.subscribe(
            try SubscriptionRequest.form("hemliga.hanna@example.se"),
            resendWindow: 0,
            now: Date()
        )
        guard case .confirmationQueued = again else {
            Issue.record("got \(again)")
            return
        }
    }

    @Test("a backup taken while writes go on is consistent and complete up to its moment")
    func backup() async throws {
        let store = try StoreUnderTest()
        try await store.addList()
        let database = store.database
        let writer = Task {
            for index in 0..<300 {
                _ = try await database.request("writer\(index)@example.se")
            }
        }
        // Back up mid-stream: once some writes are in, while the rest go on.
        try await eventually(timeout: 20, "some writes committed") { try await store.count("subscriber") >= 20 }
        let before = try await store.count("subscriber")
        let path = store.directory + "/backup.sqlite"
        try store.database.backup(to: path)
        try await writer.value
        let copy = try DatabaseQueue(path: path)
        let (check, subscribers, subscriptions) = try await copy.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM subscriber") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription") ?? -2
            )
        }
        #expect(check == "ok")
        #expect(subscribers == subscriptions)
        // Everything committed before the backup started is in it.
        #expect(subscribers >= before && subscribers <= 300)
        #expect(try await store.count("subscriber") == 300)
        #expect(await (try SQLiteStore(copy)).isHealthy())
    }
}
