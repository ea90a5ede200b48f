import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("HEAD answers like GET, other methods get 405 with Allow, and metrics stay on this machine")
struct MethodsAndMetricsTests {
    /// A pending subscription's confirm path and an active one's unsubscribe path.
    func links(_ app: TestApp) async throws -> (confirm: String, unsubscribe: String) {
        try await app.addList()
        for email in ["pending@example.se", "active@example.se"] {
            _ = try await app.store.request(email)
        }
        let confirm = try await app.newestConfirmationPath()
        let active = try await app.store.writer.write { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt WHERE id = 2")
            return try Subscription.fetchOne(db, key: 2)
        }
        return (confirm, "/unsubscribe/" + UnsubscribeLink.token(for: try #require(active), signer: app.signer))
    }

    @Test("HEAD on pages and /healthz answers as GET does, without a body, and changes nothing")
    func head() async throws {
        let app = try await TestApp()
        let (confirm, unsubscribe) = try await links(app)
        try await app.application.test(.router) { client in
            for path in ["/healthz", confirm, unsubscribe, "/privacy", "/style.css", "/confirm/not-a-token"] {
                let get = try await client.execute(uri: path, method: .get)
                let head = try await client.execute(uri: path, method: .head)
                #expect(head.status == get.status, "\(path)")
                #expect(head.body.readableBytes == 0, "\(path)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(path)")
            }
        }
        #expect(try await app.status(of: "pending@example.se") == "pending")
        #expect(try await app.status(of: "active@example.se") == "active")
    }

    @Test("a known path with another method answers 405 with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        let app = try await TestApp()
        let (confirm, unsubscribe) = try await links(app)
        try await app.application.test(.router) { client in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/subscribe", .put, "POST"), ("/subscribe", .get, "POST"), ("/subscribe", .options, "POST"),
                ("/healthz", .delete, "GET, HEAD"), ("/healthz", .post, "GET, HEAD"),
                (confirm, .put, "GET, HEAD, POST"), (unsubscribe, .delete, "GET, HEAD, POST"),
                ("/privacy/request", .patch, "POST"),
            ]
            for (path, method, allow) in cases {
                let response = try await client.execute(uri: path, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.text.contains(#""error":"method_not_allowed""#))
            }
            #expect(try await client.execute(uri: "/nowhere", method: .put).status == .notFound)
        }
        #expect(try await app.status(of: "active@example.se") == "active")
    }

    @Test("/metrics answers loopback clients only, as resolved through the trusted proxies")
    func metricsOnlyForLoopback() async throws {
        let app = try await TestApp(trustedProxies: ["127.0.0.1"])
        try await app.application.test(.live) { client in
            let local = try await client.execute(uri: "/metrics", method: .get)
            #expect(local.status == .ok)
            #expect(local.text.contains("kuvert_outbox_messages"))
            // Through the (trusted) proxy on this machine, for a client elsewhere.
            let remote = try await client.execute(uri: "/metrics", method: .get, headers: [.xForwardedFor: "203.0.113.9"])
            #expect(remote.status == .notFound)
            #expect(!remote.text.contains("kuvert_"))
            let viaProxyFromHere = try await client.execute(uri: "/metrics", method: .get, headers: [.xForwardedFor: "127.0.0.1"])
            #expect(viaProxyFromHere.status == .ok)
        }
        // A client whose address is unknown is no loopback client either.
        try await app.application.test(.router) { client in
            let unknown = try await client.execute(uri: "/metrics", method: .get)
            #expect(unknown.status == .notFound)
        }
        #expect(
            MetricsController.isLoopback("127.0.0.1") && MetricsController.isLoopback("::1")
                && MetricsController.isLoopback("::ffff:127.0.0.2")
        )
        #expect(
            !MetricsController.isLoopback("10.0.0.1") && !MetricsController.isLoopback("::ffff:192.0.2.1")
                && !MetricsController.isLoopback(nil) && !MetricsController.isLoopback("1127.0.0.1")
        )
    }

    @Test("with a metrics listener of their own, the public listener has no /metrics at all")
    func metricsListenerOfTheirOwn() async throws {
        let app = try await TestApp(metricsListen: (host: "127.0.0.1", port: 1))
        try await app.application.test(.live) { client in
            let local = try await client.execute(uri: "/metrics", method: .get)
            #expect(local.status == .notFound)
        }
    }
}
