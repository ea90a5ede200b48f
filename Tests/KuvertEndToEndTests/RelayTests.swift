import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// Kuvert against a real Postfix relay, as operators deploy it: STARTTLS with a
/// certificate from the organisation's own CA, SASL AUTH, relaying onwards.
@Suite("Through a real Postfix relay with STARTTLS and AUTH", .serialized)
struct RelayTests {
    @Test("with credentials and a relay that offers no STARTTLS, the password never goes out and doctor says why")
    func noPasswordInClear() async throws {
        let upstream = try SMTPTestServer()
        let relay = try await PostfixRelay.start(upstreamPort: upstream.port, plain: true)
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let environment = relay.environment
        let doctor = try await kuvert.run("doctor", environment: environment)
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("the relay offers no STARTTLS"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains("last reply"))
        #expect(!doctor.stdout.contains(relay.password) && !doctor.stderr.contains(relay.password))
        #expect(!relay.sessions().isEmpty && relay.sessions().allSatisfy { !$0.contains("auth=") }, "\(relay.sessions())")

        // Opting out on purpose sends it (the relay logs the AUTH), and doctor fails all the same.
        let optedOut = try await kuvert.run("doctor", environment: environment.merging(["KUVERT_SMTP_TLS": "opportunistic"]) { $1 })
        #expect(optedOut.status == 1)
        #expect(optedOut.stdout.contains("the password went out in clear"), "\(optedOut.stdout)")
        #expect(relay.sessions().contains { $0.contains("auth=1") })
    }

    @Test(
        "a private CA's certificate is refused until KUVERT_SMTP_CA_FILE names the CA; then mail goes through STARTTLS and AUTH with the EHLO name set"
    )
    func privateCA() async throws {
        let upstream = try SMTPTestServer()
        let relay = try await PostfixRelay.start(upstreamPort: upstream.port)
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        var environment = relay.environment.merging([
            "KUVERT_SMTP_EHLO": "mail.kuvert.test", "KUVERT_FROM": "News <news@kuvert.test>",
        ]) { $1 }
        let untrusted = try await kuvert.run("doctor", environment: environment)
        #expect(untrusted.status == 1)
        #expect(untrusted.stdout.contains("SSL certificate problem"), "\(untrusted.stdout)")
        #expect(untrusted.stdout.contains("KUVERT_SMTP_CA_FILE"))
        #expect(!untrusted.stdout.contains("last reply"))

        environment["KUVERT_SMTP_CA_FILE"] = relay.caFile
        let trusted = try await kuvert.run("doctor", environment: environment)
        #expect(trusted.stdout.contains("STARTTLS used; AUTH accepted"), "\(trusted.stdout)")
        // A pinned key that is not the relay's: refused, and said so.
        let pinned = try await kuvert.run(
            "doctor",
            environment: environment.merging([
                "KUVERT_SMTP_PINNED_KEY": "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()
            ]) { $1 }
        )
        #expect(pinned.status == 1)
        #expect(pinned.stdout.contains("is not the one in KUVERT_SMTP_PINNED_KEY"), "\(pinned.stdout)")
        #expect(!relay.sessions().contains { $0.contains("auth=") && !$0.contains("starttls=1") })

        _ = try await store.request("reader@example.se")
        let worker = try kuvert.start("worker", environment: environment)
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        try await upstream.waitFor(timeout: 30) { upstream.messages().count == 1 }
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        let mail = try #require(upstream.messages().first)
        #expect(mail.to == ["reader@example.se"])
        // Postfix names the client's EHLO in the Received line it adds.
        let received = try mail.parsed().headers["Received"] ?? ""
        #expect(received.hasPrefix("from mail.kuvert.test"), "\(received)")
        #expect(relay.sessions().contains { $0.contains("starttls=1") && $0.contains("auth=1") && $0.contains("data=1") })
    }

    @Test("a confirmation whose retries ran out blocks no new request, and queue retry --failed sends it again")
    func failedConfirmation() async throws {
        let upstream = try SMTPTestServer()
        let relay = try await PostfixRelay.start(upstreamPort: upstream.port)
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        var environment = relay.environment.merging([
            "KUVERT_SMTP_PASSWORD": "wrong", "KUVERT_SMTP_CA_FILE": relay.caFile,
            "KUVERT_RETRY_BASE": "0.1", "KUVERT_RETRY_LIMIT": "2",
        ]) { $1 }
        _ = try await store.request("reader@example.se", resendWindow: 3_600)
        let log = kuvert.dataDirectory + "/worker.log"
        let worker = try kuvert.start("worker", environment: environment, log: log)
        defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "the confirmation failed") {
            try await store.queueOverview(now: Date(), limit: 10).failed == 1
        }
        kill(worker.processIdentifier, SIGTERM)
        worker.waitUntilExit()
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        // The relay refused the login: a warning from the first attempt, in words an operator can act on.
        let first = try #require(lines.first { $0.contains("will retry") })
        #expect(first.contains("level=warning") && first.contains("refused the credentials"), "\(first)")
        #expect(!lines.contains { $0.contains("wrong") })

        // Within the resend window, a new request queues a new confirmation.
        let again = try await store.request("reader@example.se", resendWindow: 3_600)
        guard case .confirmationQueued = again else {
            Issue.record("got \(again)")
            return
        }
        let retried = try await kuvert.run("queue", "retry", "--failed")
        #expect(retried.status == 0 && retried.stdout.contains("Queued again: 1 message"), "\(retried.stdout)")
        #expect(try await kuvert.run("queue", "retry", "--failed").stdout.contains("No failed messages."))
        let neither = try await kuvert.run("queue", "retry")
        #expect(neither.status == 2)

        environment["KUVERT_SMTP_PASSWORD"] = relay.password
        let fixed = try kuvert.start("worker", environment: environment)
        defer { if fixed.isRunning { kill(fixed.processIdentifier, SIGKILL) } }
        try await upstream.waitFor(timeout: 30) { upstream.messages().count == 2 }
        kill(fixed.processIdentifier, SIGTERM)
        fixed.waitUntilExit()
        #expect(try await store.queueOverview(now: Date(), limit: 10).sent == 2)
    }
}
