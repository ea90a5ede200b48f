import Crypto
import Foundation
import GRDB
import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import KuvertCore
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
        var logger = Logger(label: "lmtp-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LMTP_DEBUG"] != nil ? .trace : .critical
        let intake = BounceIntake(addresses: addresses, store: store ?? app.store, bounceLimit: 3, metrics: .none, logger: logger)
        // Port 0: the kernel picks a free one as it binds, so no other test can take it meanwhile.
        let listening = AsyncThrowingStream<Int, any Error>.makeStream()
        let server = LMTPServer(
            host: "127.0.0.1",
            port: 0,
            intake: intake,
            logger: logger,
            idleTimeout: idleTimeout,
            onListening: { listening.continuation.yield($0) }
        )
        // As kuvert serve runs it: in a service group, stopped by a graceful shutdown.
        let group = ServiceGroup(services: [server], logger: logger)
        self.group = group
        Task {
            do { try await group.run() } catch { listening.continuation.finish(throwing: error) }
            listening.continuation.finish()
        }
        var ports = listening.stream.makeAsyncIterator()
        guard let port = try await ports.next() else { throw LMTPHarnessError.didNotListen }
        self.port = port
    }

    deinit {
        let group = group
        Task { await group.triggerGracefulShutdown() }
    }

    /// A session past its greeting and LHLO.
    func session() async throws -> LineClient {
        // A reply bounds only a failing test; under the full suite's load a 4 MiB
        // message can take the server more than the default 10 s.
        let client = try LineClient(port: port, timeout: 30)
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

private enum LMTPHarnessError: Error { case didNotListen }

@Suite("LMTP intake of bounces (RFC 2033) on SwiftNIO")
struct LMTPTests {
    @Test("a DSN for a signed address is stored and bounces its subscription; replies come one per recipient")
    func bounceOverLMTP() async throws {
        let harness = try await LMTPHarness(readers: ["nobody@example.se", "other@example.se"])
        let client = try await harness.session()
        // Pipelined, as Postfix sends it: one valid recipient, one forged, one elsewhere.
        let forged = "m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test"
        try await client.write(
            "MAIL FROM:<> SIZE=4000\r\nRCPT TO:<\(harness.bounceAddress(1).uppercased())>\r\nRCPT TO:<\(forged)>\r\n"
                + "RCPT TO:<postmaster@example.se>\r\nDATA\r\n"
        )
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
        for (fixture, reply) in [
            ("auto-reply.eml", "250 2.0.0 Taken: auto-reply, unchanged"),
            ("arf-complaint.eml", "250 2.0.0 Taken: complaint, unsubscribed"),
        ] {
            try await client.write("MAIL FROM:<abuse@mailbox.example>\r\nRCPT TO:<\(harness.bounceAddress(1))>\r\nDATA\r\n")
            for _ in 0..<3 { _ = try await client.reply() }
            try await client.write(LMTPHarness.data(try TestPaths.bounceFixture(fixture)))
            #expect(try await client.reply() == reply)
        }
        #expect(try await harness.app.status(of: "reader@example.se") == "unsubscribed")
        #expect(try await harness.app.count("SELECT count(*) FROM consentEvent WHERE kind = 'withdrawn' AND source = 'complaint'") == 1)
        #expect(try await harness.events().map(\.kind) == [.autoReply, .complaint])
    }

    @Test(
        "what an attacker can send changes nobody's subscription",
        arguments: [
            "HELO x\r\n", "MAIL FROM:<a@b>\r\n", "DATA\r\n", "BDAT 10 LAST\r\n", "VRFY root\r\n", "\u{0}\u{1}\u{2}\r\n",
            "LHLO\r\n", "RCPT TO:<m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test>\r\n",
        ]
    )
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
        for recipient in [
            wrongMAC, real.replacingOccurrences(of: "bounces.kuvert.test", with: "example.se"), "m1-@bounces.kuvert.test",
            "m999-" + String(real.split(separator: "-")[1]),
        ] {
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
        // The client is a process of its own that connects, says nothing and prints
        // everything it gets until the server closes: it waits for the event, not a
        // time. (In this process a socket kept open while other suites spawn and
        // close descriptors once read as closed before a byte came.)
        let script = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            sys.stdout.write(data.decode())
            """
        let result = try await Task.detached {
            try TestProcess.run(["/usr/bin/python3", "-c", script, String(harness.port)])
        }.value
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\r\n").map(String.init)
        // Whether the greeting or the idle reply comes first depends on how soon the
        // session starts; the idle reply and the close always come.
        #expect(lines.last == "421 4.4.2 Idle too long; closing", "\(lines)")
        #expect(lines.allSatisfy { $0.hasPrefix("220 bounces.kuvert.test") || $0.hasPrefix("421 4.4.2") }, "\(lines)")
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

@Suite("Bounces from a real Postfix over LMTP, and kuvert bounces ingest", .serialized)
struct RealBounceTests {
    static let secret = String(repeating: "b0unce-s3cret-", count: 3)

    @Test("a real MTA's DSN reaches the subscription: Kuvert sends through Postfix, Postfix bounces, its DSN comes back over LMTP")
    func postfixBounce() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        // No mailbox at kuvert.test: Postfix takes it, then bounces it. A domain that
        // refuses connections: Postfix gives up at once, "failed" with 4.4.1.
        for address in ["nobody-here@kuvert.test", "someone@expired.kuvert.test"] {
            _ = try await store.subscribe(try KuvertCommand.request(address), resendWindow: 0, now: Date())
        }
        let lmtpPort = try freeLoopbackPort()
        let mx = try await PostfixMX.start(lmtpPort: lmtpPort)
        let httpPort = try freeLoopbackPort()
        let serve = try kuvert.start(
            "serve",
            "--listen",
            "127.0.0.1:\(httpPort)",
            environment: [
                "KUVERT_SMTP_URL": mx.url, "KUVERT_BOUNCE_DOMAIN": "bounces.kuvert.test",
                "KUVERT_LMTP_LISTEN": "127.0.0.1:\(lmtpPort)", "KUVERT_SECRET": Self.secret,
            ],
            log: kuvert.dataDirectory + "/serve.log"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(httpPort)"
        try await eventually(timeout: 20, "the server answers") { (try? await http(base + "/healthz"))?.status == 200 }

        try await eventually(timeout: 60, "both DSNs taken") {
            try await store.latestBounces(limit: 10).count == 2
        }
        let bounced = try #require(try await store.subscriberRecord(address: try EmailAddress("nobody-here@kuvert.test")))
        #expect(bounced.subscriptions.first?.subscription.status == .bounced)
        #expect(bounced.subscriptions.first?.bounces.map(\.status) == ["5.1.1"])
        let expired = try #require(try await store.subscriberRecord(address: try EmailAddress("someone@expired.kuvert.test")))
        #expect(expired.subscriptions.first?.subscription.status == .pending)
        #expect(expired.subscriptions.first?.bounces.map(\.kind) == [.transient])
        #expect(mx.log().contains("status=sent (250 2.0.0 Taken: hard, bounced)"), "\(mx.log())")

        let metrics = try await http(base + "/metrics").body
        #expect(metrics.contains(#"kuvert_bounces_total{kind="hard"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"kuvert_bounces_total{kind="transient"} 1"#))
        let listing = try await kuvert.run("bounces")
        #expect(listing.status == 0)
        #expect(
            listing.stdout.contains("nobody-here@kuvert.test") && listing.stdout.contains("5.1.1")
                && listing.stdout.contains("4.4.1"),
            "\(listing.stdout)"
        )
        let shown = try await kuvert.run("subscribers", "show", "nobody-here@kuvert.test")
        #expect(shown.stdout.contains("bounces:") && shown.stdout.contains("hard 5.1.1 (failed): bounced"), "\(shown.stdout)")
        let messageId = try #require(bounced.subscriptions.first?.bounces.first?.outboxMessageId)
        let message = try await kuvert.run("queue", "show", String(messageId))
        #expect(message.stdout.contains("Came back to its bounce address:"), "\(message.stdout)")
        let export = try await kuvert.run("subscribers", "export", "nobody-here@kuvert.test")
        #expect(export.stdout.contains(#""outcome" : "bounced""#), "\(export.stdout)")

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }

    @Test("kuvert serve reads a hosted bounce mailbox (KUVERT_BOUNCE_MAILBOX, Dovecot) at start and takes what it finds")
    func serveReadsMailbox() async throws {
        let imap = try await DovecotIMAP.start()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.subscribe(try KuvertCommand.request("gone@example.se"), resendWindow: 0, now: Date())
        let addresses = KeyRing(keys: [SymmetricKey(data: Data(Self.secret.utf8))]).bounceAddresses(domain: "bounces.kuvert.test")
        try imap.deliver(
            Array("Delivered-To: \(addresses.address(for: 1))\n".utf8) + (try TestPaths.bounceFixture("postfix-unknown-user.eml")),
            name: "1.kuvert"
        )
        let httpPort = try freeLoopbackPort()
        let serve = try kuvert.start(
            "serve",
            "--no-mailer",
            "--listen",
            "127.0.0.1:\(httpPort)",
            environment: [
                "KUVERT_BOUNCE_DOMAIN": "bounces.kuvert.test", "KUVERT_BOUNCE_MAILBOX": imap.mailboxURL, "KUVERT_SECRET": Self.secret,
            ],
            log: kuvert.dataDirectory + "/serve.log"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "the mailbox read") { imap.count() == 0 }
        let record = try #require(try await store.subscriberRecord(address: try EmailAddress("gone@example.se")))
        #expect(record.subscriptions.first?.subscription.status == .bounced)
        let log = (try? String(contentsOfFile: kuvert.dataDirectory + "/serve.log", encoding: .utf8)) ?? ""
        #expect(log.contains("bounce mailbox read") && !log.contains(imap.password) && !log.contains("gone@example.se"), "\(log)")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }

    @Test("ingest: 0 when taken, 67 for no signed address, 65 when too large, 75 without a bounce domain or a store")
    func ingest() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.subscribe(try KuvertCommand.request("reader@example.se"), resendWindow: 0, now: Date())
        let addresses = KeyRing(keys: [SymmetricKey(data: Data(Self.secret.utf8))]).bounceAddresses(domain: "bounces.kuvert.test")
        let environment = ["KUVERT_BOUNCE_DOMAIN": "bounces.kuvert.test", "KUVERT_SECRET": Self.secret]
        let dsn = try TestPaths.bounceFixture("postfix-unknown-user.eml")
        let ingest = { (recipient: String, environment: [String: String], input: [UInt8]) in
            try await kuvert.run(["bounces", "ingest", "--recipient", recipient], environment: environment, input: input)
        }

        let taken = try await ingest(addresses.address(for: 1).uppercased(), environment, dsn)
        #expect(taken.status == 0 && taken.stdout == "Taken: hard, bounced.\n", "\(taken)")
        let again = try await ingest(addresses.address(for: 1), environment, dsn)
        #expect(again.status == 0 && again.stdout == "Taken: hard, unchanged.\n", "\(again)")
        let forged = try await ingest("m1-aaaaaaaaaaaaaaaa@bounces.kuvert.test", environment, dsn)
        #expect(forged.status == 67 && forged.stderr.contains("Not a bounce address"), "\(forged)")
        // A recipient starting with "-" is a recipient, not an option (exit 2 before).
        let dashed = try await ingest("-m1-aaaa@bounces.kuvert.test", environment, dsn)
        #expect(dashed.status == 67 && dashed.stderr.contains("Not a bounce address"), "\(dashed)")
        let large = try await ingest(addresses.address(for: 1), environment, [UInt8](repeating: 65, count: BounceIntake.maximumSize + 1))
        #expect(large.status == 65, "\(large)")
        let unset = try await ingest(addresses.address(for: 1), ["KUVERT_SECRET": Self.secret], dsn)
        #expect(unset.status == 75 && unset.stderr.contains("KUVERT_BOUNCE_DOMAIN"), "\(unset)")
        let noStore = try await ingest(addresses.address(for: 1), environment.merging(["KUVERT_DATABASE": "/proc/kuvert/kuvert.sqlite"]) { $1 }, dsn)
        #expect(noStore.status == 75, "\(noStore)")
        // Two events stored, one audit line each; the subscription bounced once.
        #expect(try await store.latestBounces(limit: 10).map(\.event.outcome) == [.unchanged, .bounced])
        #expect(try await store.subscriptions(listSlug: nil, status: .bounced).count == 1)
    }
}

@Suite("A hosted bounce mailbox read over IMAP through libcurl (Dovecot)")
struct BounceMailboxTests {
    @Test("messages naming a signed address are taken and deleted; the rest stay; a wrong password changes nothing")
    func dovecot() async throws {
        let imap = try await DovecotIMAP.start()
        let app = try await TestApp()
        try await app.addList()
        for reader in ["gone@example.se", "angry@example.se"] {
            _ = try await app.store.subscribe(try KuvertCommand.request(reader), resendWindow: 0, now: Date())
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
