import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import KuvertCore
@testable import KuvertLMTP
@testable import KuvertSQLite

@Suite("A hosted bounce mailbox read over IMAP through libcurl (Dovecot)")
struct BounceMailboxTests {
    @Test("messages naming a signed address are taken and deleted; the rest stay; a wrong password changes nothing")
    func dovecot() async throws {
        let imap = try await DovecotIMAP.start()
        let app = try await TestApp()
        try await app.addList()
        for reader in ["gone@example.se", "angry@example.se"] {
            _ = try await app.store.request(reader)
        }
        let addresses = KeyRing(keys: [SymmetricKey(size: .bits256)]).bounceAddresses(domain: "bounces.kuvert.test")
        var logger = Logger(label: "imap-test")
        logger.logLevel = .critical
        let intake = BounceIntake(addresses: addresses, store: app.store, bounceLimit: 3, metrics: .none, logger: logger)
        // As a hosted mailbox holds them: the bounce address in Delivered-To, or only in To.
        let dsn = try TestPaths.bounceFixture("postfix-unknown-user.eml")
        try imap.deliver(Array("Delivered-To: \(addresses.address(for: 1))\n".utf8) + dsn, name: "1.kuvert")
        let complaint = String(decoding: try TestPaths.bounceFixture("arf-complaint.eml"), as: UTF8.self)
            .replacingOccurrences(of: "To: <m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test>", with: "To: <\(addresses.address(for: 2))>")
        try imap.deliver(Array(complaint.utf8), name: "2.kuvert")
        try imap.deliver(Array("Delivered-To: m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test\n".utf8) + dsn, name: "3.kuvert")
        // Larger than any bounce Kuvert takes: it cannot be fetched, and must not stop the others.
        let huge =
            "Delivered-To: \(addresses.address(for: 1))\nSubject: big\n\n"
            + String(repeating: String(repeating: "x", count: 76) + "\n", count: BounceIntake.maximumSize / 77 + 20_000)
        try imap.deliver(Array(huge.utf8), name: "0.kuvert")
        #expect(imap.count() == 4)

        let settings = try BounceMailboxSettings(imap.mailboxURL)
        #expect(!settings.url.contains(imap.password) && settings.password == imap.password && !settings.requireTLS)
        var wrong = settings
        wrong.password = "wrong"
        await #expect(throws: (any Error).self) { try await BounceMailboxPoller(settings: wrong, intake: intake, logger: logger).poll() }
        #expect(imap.count() == 4)
        #expect(try await app.status(of: "gone@example.se") == "pending")

        let poller = BounceMailboxPoller(settings: settings, intake: intake, logger: logger)
        let pass = try await poller.poll()
        #expect(pass.taken == 2 && pass.left == 2)
        #expect(try await app.status(of: "gone@example.se") == "bounced")
        #expect(try await app.status(of: "angry@example.se") == "unsubscribed")
        // The forged and the oversized one stay for the operator to see, and nothing is taken twice.
        #expect(imap.count() == 2)
        let again = try await poller.poll()
        #expect(again.taken == 0 && again.left == 2)
        #expect(try await app.count("SELECT count(*) FROM bounceEvent") == 2)
    }

    @Test("KUVERT_BOUNCE_MAILBOX: imaps, or imap with STARTTLS required off this machine; malformed values name the form")
    func settings() throws {
        let remote = try BounceMailboxSettings("imaps://bounce%40example.se:p%3Ass@imap.example.se/INBOX")
        #expect(remote.url == "imaps://imap.example.se/INBOX" && remote.username == "bounce@example.se" && remote.password == "p:ss")
        #expect(!remote.requireTLS)
        #expect(try BounceMailboxSettings("imap://u:p@imap.example.se").requireTLS)
        #expect(try BounceMailboxSettings("imap://u:p@imap.example.se").url == "imap://imap.example.se/INBOX")
        for bad in ["pop3://u:p@h/INBOX", "imaps://h/INBOX", "imaps://u@h/INBOX", "imaps://u:p@h/INBOX;UID=1", "imaps://u:p@h/?x"] {
            #expect(throws: KuvertError.self, "\(bad)") { try BounceMailboxSettings(bad) }
        }
    }
}
