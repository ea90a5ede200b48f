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

@Suite("Bounces from real MTAs (Postfix, Exim, OpenSMTPD) over LMTP, and kuvert bounces ingest", .serialized)
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
            _ = try await store.request(address)
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

    @Test(
        "Exim and OpenSMTPD as the relay: their own bounces, through a Maildir and kuvert bounces ingest (Exim) or over LMTP (OpenSMTPD)",
        arguments: RelayMTA.Kind.allCases
    )
    func otherMTAs(kind: RelayMTA.Kind) async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        // The tests' SMTP server stands for the remote MX: it refuses by local part.
        let people = ["reject-\(kind)", "policy-\(kind)", "full-\(kind)"]
        for person in people { _ = try await store.request("\(person)@example.se") }
        let sink = try SMTPTestServer()
        let lmtpPort = try freeLoopbackPort()
        let relay = try await RelayMTA.start(kind, sinkPort: sink.port, lmtpPort: lmtpPort)
        var environment = ["KUVERT_SMTP_URL": relay.url, "KUVERT_BOUNCE_DOMAIN": "bounces.kuvert.test", "KUVERT_SECRET": Self.secret]
        if kind == .opensmtpd { environment["KUVERT_LMTP_LISTEN"] = "127.0.0.1:\(lmtpPort)" }
        let httpPort = try freeLoopbackPort()
        let serve = try kuvert.start("serve", "--listen", "127.0.0.1:\(httpPort)", environment: environment, log: kuvert.dataDirectory + "/serve.log")
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }

        switch kind {
        case .exim:
            try await eventually(timeout: 60, "Exim's three bounces in its Maildir") { relay.bounceFiles().count == 3 }
            kill(serve.processIdentifier, SIGTERM)
            serve.waitUntilExit()
            // A Maildir loop: each message to `kuvert bounces ingest`, with the envelope recipient Exim added.
            for file in relay.bounceFiles() {
                let message = try #require(FileManager.default.contents(atPath: file))
                let text = String(decoding: message, as: UTF8.self)
                let recipient = try #require(
                    text.components(separatedBy: "\n").first { $0.hasPrefix("Envelope-to: ") }?.dropFirst("Envelope-to: ".count)
                )
                #expect(text.contains("Subject: Mail delivery failed: returning message to sender"))
                let taken = try await kuvert.run(
                    ["bounces", "ingest", "--recipient", String(recipient)],
                    environment: ["KUVERT_BOUNCE_DOMAIN": "bounces.kuvert.test", "KUVERT_SECRET": Self.secret],
                    input: Array(message)
                )
                #expect(taken.status == 0, "\(taken.stderr)")
            }
            // The independent classifier reads Exim's bounces as Kuvert does.
            let copies = kuvert.dataDirectory + "/exim-bounces"
            try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
            for (index, file) in relay.bounceFiles().enumerated() { try FileManager.default.copyItem(atPath: file, toPath: copies + "/\(index).eml") }
            let sisimai = try await onThread {
                try TestProcess.run([
                    "/usr/bin/perl", TestPaths.root.appendingPathComponent("Tests/Support/sisimai_verdicts.pl").path, copies,
                ])
            }
            for reason in ["userunknown", "securityerror", "mailboxfull"] {
                #expect(sisimai.stdout.contains(#""reason":"\#(reason)""#), "\(sisimai.stdout) \(sisimai.stderr)")
            }
        case .opensmtpd:
            try await eventually(timeout: 60, "OpenSMTPD's three bounces over LMTP") { try await store.latestBounces(limit: 10).count == 3 }
            #expect(relay.log().contains("result=\"Ok\" stat=\"250 2.0.0 Taken"), "\(relay.log())")
        }
        var seen: [String: (String, [BounceKind])] = [:]
        for person in people {
            let record = try #require(try await store.subscriberRecord(address: try EmailAddress("\(person)@example.se")))
            let subscription = try #require(record.subscriptions.first)
            seen[String(person.prefix { $0 != "-" })] = (subscription.subscription.status.rawValue, subscription.bounces.map(\.kind))
        }
        // A mailbox that does not exist bounces at once; a policy refusal changes nothing; a full one counts.
        #expect(seen["reject"]?.0 == "bounced" && seen["reject"]?.1 == [.hard], "\(seen)")
        #expect(seen["policy"]?.0 == "pending" && seen["policy"]?.1 == [.policy], "\(seen)")
        #expect(seen["full"]?.0 == "pending" && seen["full"]?.1 == [.soft], "\(seen)")
        if serve.isRunning {
            kill(serve.processIdentifier, SIGTERM)
            serve.waitUntilExit()
        }
    }

    @Test("kuvert serve reads a hosted bounce mailbox (KUVERT_BOUNCE_MAILBOX, Dovecot) at start and takes what it finds")
    func serveReadsMailbox() async throws {
        let imap = try await DovecotIMAP.start()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.request("gone@example.se")
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
        _ = try await store.request("reader@example.se")
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
