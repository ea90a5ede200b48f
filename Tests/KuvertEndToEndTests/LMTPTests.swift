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
        // On a thread of its own: a detached task still holds one of the
        // cooperative pool's two threads, which the server under test needs.
        let result = try await onThread { try TestProcess.run(["/usr/bin/python3", "-c", script, String(harness.port)]) }
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
