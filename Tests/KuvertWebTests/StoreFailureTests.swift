import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

/// A store that cannot write (a full disk, a file made immutable, PostgreSQL
/// down) answered `500` with an empty body while `/healthz` said ok and the log
/// said nothing. SQLite's own limit on the file's pages (`max_page_count`)
/// gives the same error a full disk does (`SQLITE_FULL`, 13), from a real file.
@Suite("A store that cannot write")
struct StoreFailureTests {
    @Test("503 with Retry-After and the usual body or page; /healthz 503 until a write passes again; one log line")
    func diskFull() async throws {
        let logs = LogSink.memory()
        let logger = Logger(label: "store") { KuvertLogHandler(label: $0, format: .text, level: .info, output: logs) }
        let app = try await TestApp(availability: StoreAvailability(logger: logger, hold: 5))
        try await app.addList()
        try await app.application.test(.live) { client in
            #expect(try await client.postJSON("/subscribe", #"{"email":"before@example.se"}"#).status == .accepted)
            // No page more for the file: the next write that needs one fails as on a full disk.
            try await app.store.writer.write { db in
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
            }
            var failed: TestResponse?
            for index in 0..<500 where failed == nil {
                let name = String(repeating: "n", count: 190)
                let response = try await client.postJSON(
                    "/subscribe",
                    #"{"email":"reader\#(index)@example.se","name":"\#(name)"}"#
                )
                if response.status != .accepted { failed = response }
            }
            let json = try #require(failed, "the file never filled")
            #expect(json.status == .serviceUnavailable)
            #expect(json.headers[.retryAfter] == "30")
            #expect(json.text.contains(#""error":"store_unavailable""#) && json.text.contains("send it again"), "\(json.text)")

            let form = try await client.postForm(
                "/subscribe",
                "email=form%40example.se&name=" + String(repeating: "f", count: 190),
                headers: [.acceptLanguage: "sv"]
            )
            #expect(form.status == .serviceUnavailable && form.headers[.retryAfter] == "30")
            #expect(form.headers[.contentType]?.hasPrefix("text/html") == true && form.text.contains("Försök igen om en stund"))

            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable && health.text == "store cannot write\n")

            // Room again: after the hold (5 s since the last failed write), /healthz writes, and says ok.
            try await app.store.writer.write { db in _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = 1073741823") }
            try await eventually(timeout: 30, "/healthz ok again") {
                try await client.execute(uri: "/healthz", method: .get).status == .ok
            }
            #expect(try await client.postJSON("/subscribe", #"{"email":"after@example.se"}"#).status == .accepted)
        }
        // One line for the kind of failure, however many requests failed; one when it ended.
        let failures = logs.written.filter { $0.contains("store disk full: requests answer 503") }
        #expect(failures.count == 1, "\(logs.written)")
        #expect(failures.first?.contains("SQLite error 13") == true)
        #expect(logs.written.filter { $0.contains("store takes writes again") }.count == 1)
        #expect(!logs.written.joined().contains("@example.se"))
        // Everything answered 202 is stored.
        #expect(try await app.count("SELECT count(*) FROM subscriber WHERE address IN ('before@example.se', 'after@example.se')") == 2)
    }

    @Test("an error that is not the store's is a 500 with the usual body, logged without its text")
    func bug() async throws {
        let router = Router(context: KuvertRequestContext.self)
        let logs = LogSink.memory()
        let app = try await TestApp()
        router.add(
            middleware: ErrorResponseMiddleware(
                store: app.store,
                availability: StoreAvailability(logger: Logger(label: "x")),
                pages: nil
            )
        )
        struct Bug: Error { var secret = "anna@example.se" }
        router.get("boom") { _, _ -> Response in throw Bug() }
        let logger = Logger(label: "web") { KuvertLogHandler(label: $0, format: .text, level: .info, output: logs) }
        try await Application(router: router, logger: logger).test(.router) { client in
            let response = try await client.execute(uri: "/boom", method: .get)
            #expect(response.status == .internalServerError)
            #expect(response.text.contains(#""error":"internal_error""#))
        }
        #expect(logs.written.contains { $0.contains("request failed") && $0.contains("Bug") })
        #expect(!logs.written.joined().contains("anna@example.se"))
    }
}
