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

@Suite("Subscribing with real mail", .serialized)
struct DeliveryFlowTests {
    @Test("form post, confirmation mail over SMTP, the link in it, accept: active")
    func journey() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Räksmörgås-nytt", language: .sv)
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await app.application.test(.live) { client in
            let posted = try await client.postForm("/subscribe", "email=Erik%40Example.se&name=Erik")
            #expect(posted.status == .ok)
            // The intake wakes the mailer: its next poll is minutes away (TestApp).
            try await server.waitFor { server.messages().count == 1 }
            let mail = try #require(server.messages().first).parsed()
            #expect(mail.headers["To"] == "Erik@example.se")
            #expect(mail.headers["Subject"] == "Bekräfta din prenumeration på Räksmörgås-nytt")
            let text = try #require(mail.part("text/plain")).content
            let url = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test/confirm/") })
            let path = String(url.dropFirst("http://kuvert.test".count))

            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok)
            #expect(try await app.status(of: "erik@example.se") == "pending")
            let accepted = try await client.postForm(path, "accept_terms=yes&terms_version=1")
            #expect(accepted.status == .ok)
        }
        #expect(try await app.status(of: "erik@example.se") == "active")
        mailerTask.cancel()
        try await mailerTask.value
    }

    @Test("a relay that is down pauses sending: no attempt spent, one line when it starts and one when it ends, all sent after")
    func relayOutage() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()
        let app = try await TestApp(smtpURL: "smtp://127.0.0.1:\(port)")
        try await app.addList()
        let people = (0..<12).map { "reader\($0)@example.se" }
        for person in people {
            _ = try await app.store.request(person)
        }
        let logs = LogSink.memory()
        let logger = Logger(label: "mailer") { KuvertLogHandler(label: $0, format: .text, level: .info, output: logs) }
        let mailer = try app.makeMailer(logger: logger)
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        // Connection refused: the relay is down, and the mailer probes it (at 1, 2, 4 ... s).
        try await eventually(timeout: 30, "the outage noticed and probed again") {
            logs.written.contains { $0.contains("relay unreachable") } && server.connectionCount == 0
        }
        // Three probes later (1 + 2 + 4 s of waiting), still nothing spent.
        try await eventually(timeout: 30, "three probes") { mailer.failedRelayProbes >= 3 }
        #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE attempts > 0 OR status != 'queued'") == 0)
        #expect(logs.written.filter { $0.contains("will retry") || $0.contains("relay unreachable") }.count == 1, "\(logs.written)")
        try server.start(port: port)
        try await server.waitFor(timeout: 60) { server.messages().count == people.count }
        try await eventually(timeout: 10, "all recorded") {
            try await app.count("SELECT count(*) FROM outboxMessage WHERE status = 'sent' AND attempts = 1") == people.count
        }
        #expect(logs.written.filter { $0.contains("relay reachable again") }.count == 1, "\(logs.written)")
        #expect(logs.written.filter { $0.contains("will retry") }.isEmpty)
        mailerTask.cancel()
        try await mailerTask.value
    }

    @Test("kuvert queue says whether the relay answers while mail waits, and campaign status says nothing moves")
    func queueShowsRelay() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.request("reader@example.se")
        let smtp = ["KUVERT_SMTP_URL": "smtp://127.0.0.1:\(port)"]
        let down = try await kuvert.run("queue", environment: smtp)
        #expect(down.status == 0)
        #expect(down.stdout.contains("relay smtp://127.0.0.1:\(port): "), "\(down.stdout)")
        #expect(down.stdout.contains("mailers hold waiting mail without spending its attempts until it answers"))
        try server.start(port: port)
        let up = try await kuvert.run("queue", environment: smtp)
        #expect(up.stdout.contains("relay smtp://127.0.0.1:\(port): answers\n"), "\(up.stdout)")
        server.stop()
    }

    @Test("with KUVERT_BOUNCE_DOMAIN every message leaves with its own signed envelope sender; From stays the list's")
    func signedEnvelopeSenders() async throws {
        let server = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let addresses = (0..<5).map { "reader\($0)@example.se" }
        for address in addresses {
            _ = try await store.request(address)
        }
        let secret = String(repeating: "b0unce-k3y-", count: 4)
        let worker = try kuvert.start(
            "worker",
            environment: ["KUVERT_SMTP_URL": server.url, "KUVERT_BOUNCE_DOMAIN": "Bounces.Example.se", "KUVERT_SECRET": secret]
        )
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        try await server.waitFor { server.messages().count == addresses.count }
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        // Each sent message says so, with the relay's reply.
        let shown = try await kuvert.run("queue", "show", "1")
        #expect(shown.stdout.hasPrefix("Message 1, confirmation: sent "), "\(shown.stdout)")
        #expect(shown.stdout.contains(" after 1 attempt; reply: 250"), "\(shown.stdout)")
        let bounces = KeyRing(keys: [SymmetricKey(data: Data(secret.utf8))]).bounceAddresses(domain: "bounces.example.se")
        var named: [Int64: String] = [:]
        for mail in server.messages() {
            let id = try #require(bounces.messageId(of: mail.from), "\(mail.from)")
            named[id] = try #require(mail.to.first)
            #expect(mail.from.hasSuffix("@bounces.example.se") && mail.from == mail.from.lowercased())
            #expect(try mail.parsed().headers["From"] == "Kuvert <newsletter@localhost>")
        }
        // Each envelope names the outbox row of the message it carried.
        for (id, recipient) in named {
            let row = try #require(try await store.outboxDelivery(id: id))
            #expect(row.address == recipient)
        }
        #expect(Set(named.values) == Set(addresses))
    }
}
