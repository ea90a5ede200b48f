import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("A re-consent as an editor runs it: kuvert lists terms, kuvert serve, real SMTP, a deadline of 20 seconds", .serialized)
struct TermsChangeProcessTests {
    @Test("requests go out, one is accepted over HTTP, the rest are reminded at half the deadline and lapse at it, across a restart")
    func reconsentWithADeadlineOfSeconds() async throws {
        let server = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let people = ["ann@example.se", "bo@example.se", "cy@example.se"]
        for address in people { try await store.activate(address) }
        try await store.writer.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'sent', sentAt = createdAt") }
        let port = try freeLoopbackPort()
        let environment = [
            "KUVERT_SMTP_URL": server.url, "KUVERT_LISTEN": "127.0.0.1:\(port)", "KUVERT_BASE_URL": "http://127.0.0.1:\(port)",
        ]
        let log = kuvert.dataDirectory + "/serve.log"
        let first = try kuvert.start("serve", environment: environment, log: log)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        try await eventually("serve answers") { (try? await http("http://127.0.0.1:\(port)/healthz").status) == 200 }

        let terms = try kuvert.writeTerms("# Terms\n\nWe now count opens.")
        let summary = try kuvert.writeTerms("We **count opens** from now on.")
        let opened = Date()
        let change = try await kuvert.run(
            "lists",
            "terms",
            "news",
            "--file",
            terms,
            "--summary",
            summary,
            "--reconsent",
            "--deadline",
            "20s",
            environment: environment
        )
        #expect(change.status == 0 && change.stdout.contains("Queued 3 requests"), "\(change.stderr)")
        // While it is open, no other terms: one line, naming it.
        let second = try await kuvert.run("lists", "terms", "news", "--file", try kuvert.writeTerms("# v3"), environment: environment)
        #expect(second.status == 1 && second.stderr.hasPrefix("kuvert: List news has an open re-consent to terms v2 (deadline "))
        #expect(second.stderr.split(separator: "\n").count == 1)
        let refused = try await kuvert.run("lists", "terms", "news", "--file", terms, "--notice", "--deadline", "1d")
        #expect(refused.status == 2 && refused.stderr.contains("--deadline goes with --reconsent"))

        try await server.waitFor { server.messages().count == 3 }
        let requests = try server.messages()
        #expect(Set(requests.flatMap(\.to)) == Set(people))
        let annMail = try #require(requests.first { $0.to == ["ann@example.se"] })
        let annText = try #require(try annMail.parsed().part("text/plain")).content
        let link = try #require(annText.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://127.0.0.1:\(port)/reconsent/") })
        let page = try await http(String(link))
        #expect(page.status == 200 && page.body.contains("We now count opens"))
        let accepted = try await http(String(link), method: "POST", form: "accept_terms=yes")
        #expect(accepted.status == 200 && accepted.body.contains("you accepted the new terms"))

        // Half way, a reminder to Bo and Cy; Ann is not reminded.
        try await server.waitFor(timeout: 30) { server.messages().count == 5 }
        let reminders = Array(try server.messages()[3...])
        #expect(Set(reminders.flatMap(\.to)) == ["bo@example.se", "cy@example.se"])
        #expect(try reminders.allSatisfy { try $0.parsed().headers["Subject"]?.hasPrefix("Reminder: Accept the new terms of News by ") == true })
        #expect(Date().timeIntervalSince(opened) >= 10 - 1)

        // Every node down across the deadline: the next start applies it.
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        let deadline = opened.addingTimeInterval(20)
        let shown = try await kuvert.run("lists", "show", "news")
        #expect(shown.stdout.contains("accepted 1, reminded 2"), "\(shown.stdout)")
        // Nobody lapses while no node runs (unless the machine was so slow that the deadline passed before the stop).
        if Date() < deadline { #expect(shown.stdout.contains("lapsed 0"), "\(shown.stdout)") }
        try await eventually(timeout: 40, "the deadline passes") { Date() > deadline }
        let restarted = try kuvert.start("serve", environment: environment, log: log)
        defer { if restarted.isRunning { kill(restarted.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 20, "Bo and Cy lapse") {
            try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription WHERE status = 'lapsed'") ?? 0
            } == 2
        }
        kill(restarted.processIdentifier, SIGTERM)
        restarted.waitUntilExit()
        let after = try await kuvert.run("lists", "show", "news")
        #expect(after.stdout.contains("active 1, unsubscribed 0, bounced 0, lapsed 2"), "\(after.stdout)")
        #expect(after.stdout.contains("accepted 1, reminded 2, lapsed 2"), "\(after.stdout)")
        #expect(after.stdout.contains("v2") && after.stdout.contains("closed"))
        let bo = try await kuvert.run("subscribers", "show", "bo@example.se")
        #expect(bo.stdout.contains("lapsed"), "\(bo.stdout)")
        // Nothing more went: no mail after the deadline, and the log names nobody.
        #expect(server.messages().count == 5)
        let written = try String(contentsOfFile: log, encoding: .utf8)
        #expect(written.contains("terms change deadlines applied") && !written.contains("bo@example.se"))
    }
}
