import Crypto
@testable import KuvertCore
import Foundation
import GRDB

import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing
@testable import KuvertLMTP

/// An LMTP server over a SQLite store of the test's own, with the list `news`
/// and one pending subscription (and its queued confirmation) per address.
private final class LMTPHarness: Sendable {
    let app: TestApp
    let addresses: BounceAddresses
    let port: Int
    private let group: ServiceGroup

    init(readers: [String], idleTimeout: Duration = .seconds(30), store: (any BounceStore)? = nil) async throws {
        app = try await TestApp()
        try await app.addList()
        for reader in readers {
            _ = try await app.store.subscribe(try KuvertCommand.request(reader), resendWindow: 0, now: Date())
        }
        addresses = KeyRing(keys: [SymmetricKey(size: .bits256)]).bounceAddresses(domain: "bounces.kuvert.test")
        var logger = Logger(label: "lmtp-test")
        logger.logLevel = .critical
        let intake = BounceIntake(addresses: addresses, store: store ?? app.store, bounceLimit: 3, metrics: .none, logger: logger)
        port = try freeLoopbackPort()
        let server = LMTPServer(host: "127.0.0.1", port: port, intake: intake, logger: logger, idleTimeout: idleTimeout)
        // As kuvert serve runs it: in a service group, stopped by a graceful shutdown.
        let group = ServiceGroup(services: [server], logger: logger)
        self.group = group
        Task { try await group.run() }
        try await eventually(timeout: 10, "the LMTP server listens") { (try? LineClient(port: self.port)) != nil }
    }

    deinit {
        let group = group
        Task { await group.triggerGracefulShutdown() }
    }

    /// A session past its greeting and LHLO.
    func session() async throws -> LineClient {
        let client = try LineClient(port: port)
        #expect(try await client.reply().hasPrefix("220 bounces.kuvert.test"))
        try await client.write("LHLO mx.kuvert.test\r\n")
        #expect(try await client.reply().hasSuffix("250 SIZE \(BounceIntake.maximumSize)"))
        return client
    }

    /// The bounce address of the confirmation queued for the `n`th reader (from 1).
    func bounceAddress(_ n: Int64) -> String { addresses.address(for: n) }

    /// `message` as DATA sends it: CRLF line ends, dot-stuffed, ended by a lone dot.
    static func data(_ message: [UInt8]) -> [UInt8] {
        let text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        return Array((lines.joined(separator: "\r\n") + "\r\n.\r\n").utf8)
    }

    func events() async throws -> [BounceEvent] {
        try await app.store.writer.read { db in try BounceEvent.order(Column("id")).fetchAll(db) }
    }
}

@Suite("LMTP intake of bounces (RFC 2033) on SwiftNIO")
struct LMTPTests {
    @Test("a DSN for a signed address is stored and bounces its subscription; replies come one per recipient")
    func bounceOverLMTP() async throws {
        let harness = try await LMTPHarness(readers: ["nobody@example.se", "other@example.se"])
        let client = try await harness.session()
        // Pipelined, as Postfix sends it: one valid recipient, one forged, one elsewhere.
        let forged = "m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test"
        try await client.write("MAIL FROM:<> SIZE=4000\r\nRCPT TO:<\(harness.bounceAddress(1).uppercased())>\r\nRCPT TO:<\(forged)>\r\n"
            + "RCPT TO:<postmaster@example.se>\r\nDATA\r\n")
        #expect(try await client.reply() == "250 2.1.0 Sender OK")
        #expect(try await client.reply() == "250 2.1.5 Recipient OK")
        #expect(try await client.reply() == "550 5.1.1 No such recipient here")
        #expect(try await client.reply() == "550 5.1.1 No such recipient here")
        #expect(try await client.reply().hasPrefix("354 "))
        try await client.write(LMTPHarness.data(try TestPaths.bounceFixture("postfix-unknown-user.eml")))
        #expect(try await client.reply() == "250 2.0.0 Taken: hard, bounced")
        #expect(try await harness.app.status(of: "nobody@example.se") == "bounced")
        #expect(try await harness.app.status(of: "other@example.se") == "pending")
        let events = try await harness.events()
        #expect(events.count == 1 && events[0].outboxMessageId == 1 && events[0].status == "5.1.1" && events[0].outcome == .bounced)
        #expect(try await harness.app.count("SELECT count(*) FROM auditEvent WHERE action = 'bounce.received'") == 1)
        // The same transaction again on the same session, with RSET between: nothing left over.
        try await client.write("RSET\r\nNOOP\r\nQUIT\r\n")
        #expect(try await client.reply() == "250 2.0.0 OK")
        #expect(try await client.reply() == "250 2.0.0 OK")
        #expect(try await client.reply() == "221 2.0.0 Bye")
        #expect(try await client.closedByPeer())
    }

    @Test("a complaint unsubscribes, with a withdrawn consent entry of source complaint; an auto-reply changes nothing")
    func complaintAndAutoReply() async throws {
        let harness = try await LMTPHarness(readers: ["reader@example.se"])
        let client = try await harness.session()
        for (fixture, reply) in [("auto-reply.eml", "250 2.0.0 Taken: auto-reply, unchanged"),
                                 ("arf-complaint.eml", "250 2.0.0 Taken: complaint, unsubscribed")] {
            try await client.write("MAIL FROM:<abuse@mailbox.example>\r\nRCPT TO:<\(harness.bounceAddress(1))>\r\nDATA\r\n")
            for _ in 0..<3 { _ = try await client.reply() }
            try await client.write(LMTPHarness.data(try TestPaths.bounceFixture(fixture)))
            #expect(try await client.reply() == reply)
        }
        #expect(try await harness.app.status(of: "reader@example.se") == "unsubscribed")
        #expect(try await harness.app.count("SELECT count(*) FROM consentEvent WHERE kind = 'withdrawn' AND source = 'complaint'") == 1)
        #expect(try await harness.events().map(\.kind) == [.autoReply, .complaint])
    }

    @Test("what an attacker can send changes nobody's subscription", arguments: [
        "HELO x\r\n", "MAIL FROM:<a@b>\r\n", "DATA\r\n", "BDAT 10 LAST\r\n", "VRFY root\r\n", "\u{0}\u{1}\u{2}\r\n",
        "LHLO\r\n", "RCPT TO:<m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test>\r\n",
    ])
    func hostileCommands(command: String) async throws {
        let harness = try await LMTPHarness(readers: ["reader@example.se"])
        let client = try LineClient(port: harness.port)
        _ = try await client.reply()
        try await client.write(command)
        let reply = try await client.reply()
        #expect(reply.hasPrefix("5"), "\(command.debugDescription): \(reply)")
        try await client.write("NOOP\r\n")
        #expect(try await client.reply() == "250 2.0.0 OK")
        #expect(try await harness.events().isEmpty)
        #expect(try await harness.app.status(of: "reader@example.se") == "pending")
    }

    @Test("a forged, a foreign and a malformed recipient are refused at RCPT; DATA without a valid one is refused")
    func forgedRecipients() async throws {
        let harness = try await LMTPHarness(readers: ["reader@example.se"])
        let client = try await harness.session()
        let real = harness.bounceAddress(1)
        let wrongMAC = String(real.prefix(3)) + (real.dropFirst(3).first == "a" ? "b" : "a") + String(real.dropFirst(4))
        try await client.write("MAIL FROM:<>\r\n")
        #expect(try await client.reply().hasPrefix("250"))
        for recipient in [wrongMAC, real.replacingOccurrences(of: "bounces.kuvert.test", with: "example.se"), "m1-@bounces.kuvert.test",
                          "m999-" + String(real.split(separator: "-")[1])] {
            try await client.write("RCPT TO:<\(recipient)>\r\n")
            #expect(try await client.reply() == "550 5.1.1 No such recipient here", "\(recipient)")
        }
        try await client.write("RCPT TO:broken\r\nDATA\r\n")
        #expect(try await client.reply().hasPrefix("501 5.5.4"))
        #expect(try await client.reply() == "503 5.5.1 No valid recipients")
        #expect(try await harness.events().isEmpty)
    }

    @Test("limits: a long command line, a long data line, an oversized message, too many errors")
    func limits() async throws {
        let harness = try await LMTPHarness(readers: ["reader@example.se"])
        let client = try await harness.session()
        try await client.write("NOOP " + String(repeating: "x", count: 20_000) + "\r\nNOOP\r\n")
        #expect(try await client.reply() == "500 5.5.2 Line too long")
        #expect(try await client.reply() == "250 2.0.0 OK")
        // A data line past the limit: the whole message is refused, the session goes on.
        try await client.write("MAIL FROM:<>\r\nRCPT TO:<\(harness.bounceAddress(1))>\r\nDATA\r\n")
        for _ in 0..<3 { _ = try await client.reply() }
        try await client.write("Subject: x\r\n\r\n" + String(repeating: "y", count: 10_000) + "\r\n.\r\n")
        #expect(try await client.reply() == "500 5.5.2 A line of the message is too long")
        // Past the size: refused once the data ends, nothing stored.
        try await client.write("MAIL FROM:<> SIZE=\(BounceIntake.maximumSize + 1)\r\n")
        #expect(try await client.reply().hasPrefix("552 5.3.4"))
        try await client.write("MAIL FROM:<>\r\nRCPT TO:<\(harness.bounceAddress(1))>\r\nDATA\r\n")
        for _ in 0..<3 { _ = try await client.reply() }
        let line = String(repeating: "z", count: 998) + "\r\n"
        try await client.write("Subject: big\r\n\r\n" + String(repeating: line, count: BounceIntake.maximumSize / 1000 + 10) + ".\r\n")
        #expect(try await client.reply().hasPrefix("552 5.3.4"))
        #expect(try await harness.events().isEmpty)
        #expect(try await harness.app.status(of: "reader@example.se") == "pending")
        // Ten bad commands end the session (the long line above was the first).
        var replies: [String] = []
        while replies.last?.hasPrefix("421") != true, replies.count < 10 {
            try await client.write("BOGUS\r\n")
            replies.append(try await client.reply())
        }
        #expect(replies.count == 9 && replies.last == "421 4.7.0 Too many errors; closing")
        #expect(try await client.closedByPeer())
    }

    @Test("a session that says nothing is closed with 421 after the idle time")
    func idle() async throws {
        let harness = try await LMTPHarness(readers: [], idleTimeout: .milliseconds(300))
        let client = try LineClient(port: harness.port)
        #expect(try await client.reply().hasPrefix("220"))
        // The next thing the server says, unasked, is that it closes.
        #expect(try await client.reply() == "421 4.4.2 Idle too long; closing")
        #expect(try await client.closedByPeer())
    }

    @Test("a store that cannot take the message gets 451 for each recipient: the MTA tries again")
    func storeDown() async throws {
        let harness = try await LMTPHarness(readers: ["reader@example.se"], store: UnreachableBounceStore())
        let client = try await harness.session()
        try await client.write("MAIL FROM:<>\r\nRCPT TO:<\(harness.bounceAddress(1))>\r\nDATA\r\n")
        for _ in 0..<3 { _ = try await client.reply() }
        try await client.write(LMTPHarness.data(try TestPaths.bounceFixture("postfix-unknown-user.eml")))
        #expect(try await client.reply() == "451 4.3.0 Could not store the message; try again later")
        #expect(try await harness.app.status(of: "reader@example.se") == "pending")
    }
}

/// A store whose every write fails, as one that cannot be reached.
private struct UnreachableBounceStore: BounceStore {
    struct Unreachable: Error {}
    func recordBounce(_ event: BounceEvent, bounceLimit: Int) async throws -> BounceEvent { throw Unreachable() }
    func latestBounces(limit: Int) async throws -> [BounceListing] { throw Unreachable() }
    func bounces(messageId: Int64) async throws -> [BounceEvent] { throw Unreachable() }
}

@Suite("LMTP sessions as a state machine")
struct LMTPSessionTests {
    @Test("commands out of order get 503; LHLO resets; QUIT closes")
    func order() {
        var session = LMTPSession(hostname: "b.example", recipientId: { $0 == "m1-x@b.example" ? 1 : nil })
        #expect(session.receive(Array("MAIL FROM:<>".utf8)) == .reply("503 5.5.1 Say LHLO first"))
        #expect(session.receive(Array("LHLO a".utf8))?.isReply(starting: "250-b.example") == true)
        #expect(session.receive(Array("RCPT TO:<m1-x@b.example>".utf8)) == .reply("503 5.5.1 Need MAIL first"))
        #expect(session.receive(Array("mail from:<x@y>".utf8)) == .reply("250 2.1.0 Sender OK"))
        #expect(session.receive(Array("MAIL FROM:<x@y>".utf8)) == .reply("503 5.5.1 Nested MAIL command"))
        #expect(session.receive(Array("rcpt to: <m1-x@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("DATA".utf8)) == .reply("354 Send the message; end with <CRLF>.<CRLF>"))
        #expect(session.receive(Array("..leading dot".utf8)) == nil)
        #expect(session.receive(Array(".".utf8)) == .deliver(message: Array(".leading dot\r\n".utf8), recipients: [1]))
        #expect(session.receive(Array("QUIT".utf8)) == .close("221 2.0.0 Bye"))
    }

    @Test("too many recipients get 452")
    func recipientLimit() {
        var limits = LMTPSession.Limits()
        limits.recipients = 2
        var session = LMTPSession(hostname: "b.example", limits: limits, recipientId: { _ in 7 })
        _ = session.receive(Array("LHLO a".utf8))
        _ = session.receive(Array("MAIL FROM:<>".utf8))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("452 4.5.3 Too many recipients"))
        _ = session.receive(Array("DATA".utf8))
        #expect(session.receive(Array(".".utf8)) == .deliver(message: [], recipients: [7, 7]))
    }
}

extension LMTPSession.Action {
    func isReply(starting prefix: String) -> Bool {
        if case .reply(let text) = self { return text.hasPrefix(prefix) }
        return false
    }
}
