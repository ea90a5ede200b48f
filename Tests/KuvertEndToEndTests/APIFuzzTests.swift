import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// The API under a fuzzer nobody here wrote: schemathesis reads the OpenAPI
/// document `kuvert serve` publishes and throws generated, mutated and
/// stateful requests at every route, checking every answer against the document.
@Suite("The API under schemathesis", .serialized)
struct APIFuzzTests {
    @Test("schemathesis --checks all over the whole document, authenticated, against kuvert serve with a throwaway store; nobody became active")
    func schemathesis() async throws {
        let schemathesis = TestPaths.root.appendingPathComponent(".build/pyenv/bin/schemathesis").path
        try #require(FileManager.default.isExecutableFile(atPath: schemathesis), "run 'make pyenv' first (make test does)")
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let created = try await kuvert.run("api-token", "create", "fuzzer")
        let token = try #require(created.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("kuvert_") })
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let log = kuvert.dataDirectory + "/serve.log"
        // Limits high enough that the fuzzer's thousands of requests are answered
        // rather than refused (429 is a valid answer, but it tests nothing).
        let serve = try kuvert.start(
            "serve",
            environment: [
                "KUVERT_LISTEN": "127.0.0.1:\(port)", "KUVERT_SMTP_URL": smtp.url, "KUVERT_API_RATE_LIMIT": "1000000/1m",
                "KUVERT_ADDRESS_RATE_LIMIT": "1000000/1m", "KUVERT_LOG_LEVEL": "warning",
            ],
            log: log
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "kuvert serve answers") { (try? await http(base + "/healthz").status) == 200 }

        let result = try await onThread {
            try TestProcess.run([
                schemathesis, "run", base + "/api/v1/openapi.json", "--url", base, "--checks", "all",
                "--header", "Authorization: Bearer \(token)", "--max-examples", "100", "--generation-database", "none",
                "--no-color",
            ])
        }
        #expect(result.status == 0, "schemathesis failed:\n\(result.stdout.suffix(12_000))\n\(result.stderr.suffix(2_000))")
        #expect(result.stdout.contains("Tested: 13"), "\(result.stdout.suffix(2_000))")

        // Whatever the fuzzer sent, only a person's own confirmation activates anybody.
        let active = try await store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription WHERE status = 'active'") ?? -1
        }
        #expect(active == 0)
        let requested = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription") ?? 0 }
        #expect(requested > 0, "the fuzzer started no double opt-in: it did not get past authentication")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        let written = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!written.contains(String(token)), "the token is in the log")
    }
}
