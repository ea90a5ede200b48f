import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Running Kuvert: metrics, logs, shutdown and bad configurations", .serialized)
struct OperationsTests {
    @Test("metrics move after a subscribe and its mail; the log has request ids and no address; SIGTERM exits 0")
    func metricsAndLogs() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        _ = try await kuvert.newsList()
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let log = kuvert.dataDirectory + "/serve.log"
        let serve = try kuvert.start(
            "serve",
            "--listen",
            "127.0.0.1:\(port)",
            environment: ["KUVERT_SMTP_URL": smtp.url],
            log: log
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 20, "the server answers") { (try? await http(base + "/healthz"))?.status == 200 }

        let before = samples(try await http(base + "/metrics").body)
        #expect(before[#"kuvert_subscriptions_total{outcome="confirmation_queued"}"#] == nil)
        let posted = try await http(base + "/subscribe", method: "POST", json: #"{"email":"Marta.Svensson@example.se"}"#)
        #expect(posted.status == 202)
        let refused = try await http(base + "/subscribe", method: "POST", json: #"{"email":"no-at-sign"}"#)
        #expect(refused.status == 422)
        try await smtp.waitFor { smtp.messages().count == 1 }

        try await eventually(timeout: 10, "the send is counted") {
            let page = try await http(base + "/metrics")
            return samples(page.body)[#"kuvert_messages_total{kind="confirmation",result="sent"}"#] == 1
        }
        let page = try await http(base + "/metrics")
        #expect(page.status == 200)
        let after = samples(page.body)
        #expect(after[#"kuvert_subscriptions_total{outcome="confirmation_queued"}"#] == 1)
        #expect(after[#"kuvert_subscriptions_total{outcome="invalid"}"#] == 1)
        #expect(after[#"kuvert_smtp_replies_total{class="2xx"}"#] == 1)
        #expect(after["kuvert_smtp_send_duration_seconds_count"] == 1)
        #expect(after[#"kuvert_http_requests_total{route="/subscribe",method="POST",status="202"}"#] == 1)
        #expect(after[#"kuvert_http_requests_total{route="/subscribe",method="POST",status="422"}"#] == 1)
        #expect(after[#"kuvert_outbox_messages{state="due"}"#] == 0)
        #expect(!page.body.contains("example.se"))
        // The mailer's SMTP sessions yield to the web's threads: nice 19, each on a thread of its own.
        let sessions = try threadNices(serve.processIdentifier, named: "kuvert-smtp-")
        #expect(!sessions.isEmpty && sessions.allSatisfy { $0 == 19 }, "\(sessions)")

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationReason == .exit)
        #expect(serve.terminationStatus == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let intake = try #require(lines.first { $0.contains(#"msg="subscription request""#) })
        #expect(intake.contains("request_id="))
        #expect(intake.contains("outcome=confirmation_queued"))
        #expect(lines.allSatisfy { $0.hasPrefix("time=") })
        #expect(!lines.contains { $0.lowercased().contains("marta") || $0.contains("@") })
    }

    @Test("SIGTERM during a send: exit 0, the message in hand recorded, the rest back in the queue, nothing lost or doubled")
    func gracefulStop() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let addresses = (0..<120).map { "reader\($0)@example.se" }
        for address in addresses {
            _ = try await store.request(address)
        }
        let environment = ["KUVERT_SMTP_URL": smtp.url, "KUVERT_SMTP_CONNECTIONS": "4"]
        let first = try kuvert.start("worker", environment: environment.merging(["KUVERT_SEND_RATE": "40"]) { $1 })
        try await smtp.waitFor { smtp.messages().count >= 20 }
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        #expect(first.terminationReason == .exit)
        #expect(first.terminationStatus == 0)
        let (sent, leased, queued) = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status = 'sent'") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status = 'leased'") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status = 'queued'") ?? -1
            )
        }
        #expect(leased == 0)
        #expect(sent == smtp.messages().count)
        #expect(sent + queued == addresses.count)
        #expect(queued > 0)

        let second = try kuvert.start("worker", environment: environment)
        try await eventually(timeout: 60, "every message recorded sent") {
            try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM outboxMessage WHERE status != 'sent'") == 0
            }
        }
        kill(second.processIdentifier, SIGTERM)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let received = smtp.messages().flatMap(\.to)
        #expect(received.sorted() == addresses.sorted())
    }

    @Test("kuvert worker --metrics-listen serves /metrics and /healthz beside the mailer, and counts its sends")
    func workerMetrics() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.request("worker-metrics@example.se")
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let worker = try kuvert.start(
            "worker",
            "--metrics-listen",
            "127.0.0.1:\(port)",
            environment: ["KUVERT_SMTP_URL": smtp.url]
        )
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        try await smtp.waitFor { smtp.messages().count == 1 }
        try await eventually(timeout: 20, "the worker's metrics count the send") {
            guard let page = try? await http(base + "/metrics") else { return false }
            return samples(page.body)[#"kuvert_messages_total{kind="confirmation",result="sent"}"#] == 1
        }
        #expect(try await http(base + "/healthz").status == 200)
        #expect(try await http(base + "/subscribe", method: "POST", json: "{}").status == 404)
        // A worker has no web to yield to: its sessions run at nice 0.
        let sessions = try threadNices(worker.processIdentifier, named: "kuvert-smtp-")
        #expect(!sessions.isEmpty && sessions.allSatisfy { $0 == 0 }, "\(sessions)")
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        #expect(worker.terminationStatus == 0)
    }

    @Test("kuvert serve --metrics-listen serves /metrics there, counting intake, and no longer on the public listener")
    func serveMetricsListener() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        _ = try await kuvert.newsList()
        let (publicPort, metricsPort) = (try freeLoopbackPort(), try freeLoopbackPort())
        let serve = try kuvert.start(
            "serve",
            "--no-mailer",
            "--listen",
            "127.0.0.1:\(publicPort)",
            "--metrics-listen",
            "127.0.0.1:\(metricsPort)"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let (site, metrics) = ("http://127.0.0.1:\(publicPort)", "http://127.0.0.1:\(metricsPort)")
        try await eventually(timeout: 20, "both listeners answer") {
            let up = try? await http(site + "/healthz").status
            let metricsUp = try? await http(metrics + "/healthz").status
            return up == 200 && metricsUp == 200
        }
        #expect(try await http(site + "/subscribe", method: "POST", json: #"{"email":"listener@example.se"}"#).status == 202)
        // The public listener has no metrics at all, even for a client on this machine.
        #expect(try await http(site + "/metrics").status == 404)
        let page = try await http(metrics + "/metrics")
        #expect(page.status == 200)
        #expect(samples(page.body)[#"kuvert_subscriptions_total{outcome="confirmation_queued"}"#] == 1)
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }

    @Test(
        "bad configurations stop the start with one line and exit 1",
        arguments: [
            (["serve"], ["KUVERT_TEMPLATES": "/nonexistent/templates"], "The templates directory /nonexistent/templates does not exist"),
            (["worker"], ["KUVERT_SMTP_URL": "http://mail.example.se"], "KUVERT_SMTP_URL must look like smtp://host:port"),
            (["serve"], ["KUVERT_SMTP_URL": "smtp//mail"], "KUVERT_SMTP_URL must look like smtp://host:port"),
            (["serve"], ["KUVERT_DATA_DIR": "/proc/kuvert-data"], "Cannot create the data directory /proc/kuvert-data: No such file or directory"),
            (["worker"], ["KUVERT_DATA_DIR": "/dev/null/data"], "Cannot create the data directory /dev/null/data: Not a directory"),
            (["serve"], ["KUVERT_LISTEN": "localhost"], "KUVERT_LISTEN must be HOST:PORT"),
            (["worker"], ["KUVERT_LOG_FORMAT": "xml"], "KUVERT_LOG_FORMAT must be 'text' or 'json'"),
            (["worker", "--metrics-listen", "nowhere"], [:], "--metrics-listen must be HOST:PORT"),
            (
                ["serve"], ["KUVERT_LMTP_LISTEN": "127.0.0.1:2424"],
                "KUVERT_LMTP_LISTEN takes mail for the bounce addresses: set KUVERT_BOUNCE_DOMAIN too"
            ),
            (["serve"], ["KUVERT_BOUNCE_MAILBOX": "imaps://u:p@imap.example.se/INBOX"], "set KUVERT_BOUNCE_DOMAIN too"),
            (
                ["serve"], ["KUVERT_BOUNCE_DOMAIN": "bounces.example.se", "KUVERT_BOUNCE_MAILBOX": "pop3://u:secret@h/INBOX"],
                "KUVERT_BOUNCE_MAILBOX must be imaps://USER:PASSWORD@HOST/MAILBOX"
            ),
            (["serve"], ["KUVERT_BOUNCE_DOMAIN": "bounces_example"], "KUVERT_BOUNCE_DOMAIN must be a domain"),
        ]
    )
    func badConfiguration(arguments: [String], environment: [String: String], message: String) async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let result = try await kuvert.run(arguments, environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("kuvert: "))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("settings come in layers: a flag over the environment over the configuration file over the defaults")
    func layers() async throws {
        let kuvert = await KuvertCommand(migrate: false)
        let directory = kuvert.dataDirectory
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/kuvert.env"
        try "# test\nKUVERT_DATABASE=\"\(directory)/file.sqlite\"\nKUVERT_LOG_LEVEL=debug\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        func store(_ arguments: [String], _ environment: [String: String]) async throws -> String {
            let result = try await kuvert.run(["migrate"] + arguments, environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        #expect(try await store([], [:]).contains(directory + "/kuvert.sqlite"))
        #expect(try await store(["--config", file], [:]).contains(directory + "/file.sqlite"))
        #expect(try await store([], ["KUVERT_CONFIG": file]).contains(directory + "/file.sqlite"))
        let doctor = try await kuvert.run(["doctor", "--config", file])
        #expect(doctor.stdout.contains("KUVERT_* settings are valid (with the file \(file))"), "\(doctor.stdout)")
        #expect(try await store(["--config", file], ["KUVERT_DATABASE": directory + "/env.sqlite"]).contains(directory + "/env.sqlite"))
        #expect(
            try await store(["--config", file, "--database", directory + "/flag.sqlite"], ["KUVERT_DATABASE": directory + "/env.sqlite"])
                .contains(directory + "/flag.sqlite")
        )

        try "KUVERT_DATABASE=\(directory)/file.sqlite\nKUVERT_SMPT_URL=smtp://relay.example.se\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let typo = try await kuvert.run(["migrate", "--config", file])
        #expect(typo.status == 1)
        #expect(typo.stderr == "kuvert: \(file) line 2: KUVERT_SMPT_URL is no Kuvert setting (did you mean KUVERT_SMTP_URL?).\n")
        // The same typo in the environment (or in an EnvironmentFile systemd loads) stops every command too.
        let typoLine = "The environment: KUVERT_SMTP_PASWORD is no Kuvert setting (did you mean KUVERT_SMTP_PASSWORD?)."
        for command in [["migrate"], ["lists"], ["serve"]] {
            let fromEnvironment = try await kuvert.run(command, environment: ["KUVERT_SMTP_PASWORD": "hemligt"])
            #expect(fromEnvironment.status == 1, "\(command)")
            #expect(fromEnvironment.stderr == "kuvert: \(typoLine)\n")
        }
        // doctor says it in its report, as a failed check.
        let typoDoctor = try await kuvert.run(["doctor"], environment: ["KUVERT_SMTP_PASWORD": "hemligt"])
        #expect(typoDoctor.status == 1)
        #expect(typoDoctor.stdout.contains("FAIL  \(typoLine)"), "\(typoDoctor.stdout)")
        #expect(!typoDoctor.stdout.contains("hemligt") && !typoDoctor.stderr.contains("hemligt"))
        let unlike = try await kuvert.run(["lists"], environment: ["KUVERT_COLOUR_SCHEME": "dark"])
        #expect(unlike.stderr == "kuvert: The environment: KUVERT_COLOUR_SCHEME is no Kuvert setting (see the README's configuration table).\n")
        let missing = try await kuvert.run(["serve"], environment: ["KUVERT_CONFIG": directory + "/none.env"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("Cannot read the configuration file \(directory)/none.env"))
    }

    @Test("a templates directory missing a template, or with one that does not parse, is named at start")
    func brokenTemplates() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let copy = kuvert.dataDirectory + "-templates"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: TestApp.templatesDirectory, toPath: copy)
        try FileManager.default.removeItem(atPath: copy + "/mail/sv/confirmation.subject.mustache")
        let missing = try await kuvert.run(["worker"], environment: ["KUVERT_TEMPLATES": copy])
        #expect(missing.status == 1)
        #expect(missing.stderr == "kuvert: The template mail.sv.confirmation.subject is missing from \(copy).\n")
        try "{{#open}} never closed".write(toFile: copy + "/mail/sv/confirmation.subject.mustache", atomically: true, encoding: .utf8)
        let broken = try await kuvert.run(["serve"], environment: ["KUVERT_TEMPLATES": copy])
        #expect(broken.status == 1)
        #expect(broken.stderr.hasPrefix("kuvert: The template mail/sv/confirmation.subject.mustache does not parse"))
        #expect(broken.stderr.split(separator: "\n").count == 1)
    }
}
