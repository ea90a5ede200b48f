import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("The API's campaigns, imports, limits and document")
struct APICampaignTests {
    /// A test app with the list `news` and a token called `shop`; its headers.
    func app(apiRateLimit: RateLimiter.Limit = .init(count: 100_000, window: 60)) async throws -> (TestApp, HTTPFields) {
        let app = try await TestApp(apiRateLimit: apiRateLimit)
        try await app.addList()
        let secret = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "shop", tokenHash: APIToken.hash(secret), actor: "test", now: Date())
        return (app, [.authorization: "Bearer \(secret)", .contentType: "application/json"])
    }

    @Test("campaigns are created (201, Location), listed a page at a time, shown, and sent to the active subscribers; errors say which field")
    func campaigns() async throws {
        let (app, auth) = try await app()
        for index in 0..<3 {
            try await app.store.request("reader\(index)@example.se")
        }
        try await app.store.writer.write { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt WHERE id <= 2")
        }
        try await app.application.test(.router) { client in
            var ids: [Int] = []
            for number in 1...3 {
                let created = try await client.execute(
                    uri: "/api/v1/campaigns",
                    method: .post,
                    headers: auth,
                    body: ByteBuffer(string: ##"{"list":"news","subject":" Issue \##(number) ","markdown":"# Hello\n\nIssue \##(number)."}"##)
                )
                #expect(created.status == .created, "\(created.text)")
                let campaign = try JSONSerialization.jsonObject(with: Data(created.text.utf8)) as? [String: Any]
                let id = try #require(campaign?["id"] as? Int)
                #expect(created.headers[.location] == "/api/v1/campaigns/\(id)")
                #expect(campaign?["subject"] as? String == "Issue \(number)" && campaign?["status"] as? String == "draft")
                ids.append(id)
            }
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'campaign.created' AND actor = 'api:shop'") == 3)

            // Newest first, two to a page, then the last page without nextBefore.
            let first = try await client.execute(uri: "/api/v1/campaigns?limit=2", method: .get, headers: auth)
            let page = try #require(try JSONSerialization.jsonObject(with: Data(first.text.utf8)) as? [String: Any])
            #expect((page["campaigns"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [ids[2], ids[1]])
            #expect(page["nextBefore"] as? Int == ids[1])
            let second = try await client.execute(uri: "/api/v1/campaigns?limit=2&before=\(ids[1])", method: .get, headers: auth)
            #expect(second.text.contains(#""id":\#(ids[0])"#) && !second.text.contains("nextBefore"), "\(second.text)")
            for query in ["limit=0", "limit=101", "limit=x", "before=-1"] {
                let bad = try await client.execute(uri: "/api/v1/campaigns?\(query)", method: .get, headers: auth)
                #expect(bad.status == .unprocessableContent && bad.text.contains(#""error":"invalid_field""#), "\(query): \(bad.text)")
            }

            let shown = try await client.execute(uri: "/api/v1/campaigns/\(ids[0])", method: .get, headers: auth)
            #expect(shown.status == .ok && shown.text.contains(##""markdown":"# Hello\n\nIssue 1.""##), "\(shown.text)")
            #expect(try await client.execute(uri: "/api/v1/campaigns/999", method: .get, headers: auth).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/campaigns/abc", method: .get, headers: auth).status == .unprocessableContent)

            // Sending queues one newsletter per active subscriber, once.
            let sent = try await client.execute(
                uri: "/api/v1/campaigns/\(ids[0])/send",
                method: .post,
                headers: [.authorization: auth[.authorization]!]
            )
            #expect(sent.status == .accepted && sent.text.hasPrefix(#"{"campaign":{"#) && sent.text.contains(#""queued":2}"#), "\(sent.text)")
            let again = try await client.execute(
                uri: "/api/v1/campaigns/\(ids[0])/send",
                method: .post,
                headers: auth,
                body: ByteBuffer(string: "{}")
            )
            #expect(again.status == .accepted && again.text.contains(#""queued":0}"#), "\(again.text)")
            #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE kind = 'newsletter'") == 2)
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'campaign.queued' AND actor = 'api:shop'") == 2)
            let later = try await client.execute(
                uri: "/api/v1/campaigns/\(ids[1])/send",
                method: .post,
                headers: auth,
                body: ByteBuffer(string: #"{"at":"2030-01-02T03:04:05+01:00"}"#)
            )
            #expect(later.text.contains(#""sendAt":"2030-01-02T02:04:05Z""#), "\(later.text)")
            _ = try await app.store.changeCampaign(id: Int64(ids[2]), to: .cancelled, now: Date(), actor: "test")
            let cancelled = try await client.execute(uri: "/api/v1/campaigns/\(ids[2])/send", method: .post, headers: auth)
            #expect(cancelled.status == .conflict && cancelled.text.contains(#""error":"campaign_state""#), "\(cancelled.status) \(cancelled.text)")

            for (uri, body, status, code) in [
                ("/api/v1/campaigns", #"{"list":"nope","subject":"x","markdown":"x"}"#, HTTPResponse.Status.notFound, "unknown_list"),
                ("/api/v1/campaigns", #"{"list":"news","subject":"two\nlines","markdown":"x"}"#, .unprocessableContent, "invalid_field"),
                ("/api/v1/campaigns", #"{"list":"news","subject":"x","markdown":"  "}"#, .unprocessableContent, "invalid_field"),
                ("/api/v1/campaigns", #"{"list":"news","subject":"x","markdown":"x","status":"sending"}"#, .unprocessableContent, "unknown_field"),
                ("/api/v1/campaigns", #"{"list":"news","subject":null,"markdown":"x"}"#, .unprocessableContent, "invalid_field"),
                ("/api/v1/campaigns/\(ids[1])/send", #"{"at":"2030-01-02T12:99:00Z"}"#, .unprocessableContent, "invalid_field"),
                ("/api/v1/campaigns/999/send", "", .notFound, "unknown_campaign"),
            ] {
                let response = try await client.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: body))
                #expect(response.status == status && response.text.contains(#""error":"\#(code)""#), "\(body): \(response.text)")
            }
            // Without a token, nothing is created or queued.
            let anonymous = try await client.execute(
                uri: "/api/v1/campaigns",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"list":"news","subject":"x","markdown":"x"}"#)
            )
            #expect(anonymous.status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/campaigns/\(ids[1])/send", method: .post).status == .unauthorized)
            #expect(try await app.count("SELECT count(*) FROM campaign") == 3)
            #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE kind = 'newsletter'") == 4)
        }
    }

    @Test("an import queues confirmations for new addresses, refuses bad lines by number, never activates; the ledger names the token")
    func imports() async throws {
        let (app, auth) = try await app()
        let csv: HTTPFields = [.authorization: auth[.authorization]!, .contentType: "text/csv; charset=utf-8"]
        try await app.application.test(.router) { client in
            let body = "email,name\nanna@example.se,Anna\nnot-an-address\nAnna@example.se\n\"bo@example.se\",\"Bo, jr\"\n"
            let imported = try await client.execute(uri: "/api/v1/imports?list=news", method: .post, headers: csv, body: ByteBuffer(string: body))
            #expect(imported.status == .ok, "\(imported.text)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(imported.text.utf8)) as? [String: Any])
            #expect(report["queued"] as? Int == 2 && report["alreadyPending"] as? Int == 0)
            #expect((report["refused"] as? [[String: Any]])?.compactMap { $0["line"] as? Int } == [3, 4], "\(imported.text)")
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE status = 'pending'") == 2)
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE status = 'active'") == 0)
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE source = 'import api:shop'") == 2)
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'subscribers.imported' AND actor = 'api:shop'") == 1)

            for (uri, type, status, code) in [
                ("/api/v1/imports?list=nope", "text/csv", HTTPResponse.Status.notFound, "unknown_list"),
                ("/api/v1/imports", "text/csv", .unprocessableContent, "invalid_field"),
                ("/api/v1/imports?list=news", "application/json", .unsupportedMediaType, "unsupported_media_type"),
            ] {
                var headers = auth
                headers[.contentType] = type
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: "eva@example.se\n"))
                #expect(response.status == status && response.text.contains(#""error":"\#(code)""#), "\(uri): \(response.text)")
            }
            let notUTF8 = try await client.execute(
                uri: "/api/v1/imports?list=news",
                method: .post,
                headers: csv,
                body: ByteBuffer(bytes: [0x65, 0xFF, 0x40, 0x0A])
            )
            #expect(notUTF8.status == .badRequest)
            let tooLarge = try await client.execute(
                uri: "/api/v1/imports?list=news",
                method: .post,
                headers: csv,
                body: ByteBuffer(repeating: UInt8(ascii: "a"), count: APIController.maximumImportBytes + 1)
            )
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try await app.count("SELECT count(*) FROM subscription") == 2)
        }
    }

    @Test("a token over its rate limit gets 429 with Retry-After; another token is not held up")
    func rateLimit() async throws {
        let (app, auth) = try await app(apiRateLimit: .init(count: 3, window: 60))
        let other = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "crm", tokenHash: APIToken.hash(other), actor: "test", now: Date())
        try await app.application.test(.router) { client in
            for _ in 0..<3 { #expect(try await client.execute(uri: "/api/v1/lists", method: .get, headers: auth).status == .ok) }
            let limited = try await client.execute(uri: "/api/v1/lists", method: .get, headers: auth)
            #expect(limited.status == .tooManyRequests && limited.text.contains(#""error":"rate_limited""#))
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(try await client.execute(uri: "/api/v1/lists", method: .get, headers: [.authorization: "Bearer \(other)"]).status == .ok)
        }
    }

    @Test("the document describes every /api/v1/ route and every documented route exists; it is served without a token")
    func document() async throws {
        let (app, _) = try await app()
        let documentURL = URL(fileURLWithPath: TestApp.templatesDirectory).appendingPathComponent(APIDocument.path)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: documentURL)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods = Set(["get", "post", "put", "patch", "delete"])
        let documented = Set(
            paths.flatMap { path, item in
                item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
            }
        )
        // The API's own routes, on a router of their own (the full router adds 405 answers for the other methods).
        let router = Router(context: KuvertRequestContext.self)
        let dependencies = app.dependencies
        APIController(
            store: app.store,
            intake: SubscriptionIntake(store: app.store, resendWindow: 0),
            importer: CSVImport(store: app.store, suppression: dependencies.keys.suppression, resendWindow: 0, rate: 1),
            suppression: dependencies.keys.suppression,
            limits: RequestLimits(
                perClient: RateLimiter(.init(count: 1, window: 1)),
                perAddress: RateLimiter(.init(count: 1, window: 1)),
                perToken: RateLimiter(.init(count: 1, window: 1)),
                ipv6PrefixLength: 64,
                shared: nil
            ),
            document: dependencies.apiDocument,
            maximumBodyBytes: 1,
            mailQueued: DelayedWake {}
        ).register(on: router)
        let routed = Set(router.routes.map { "\($0.method.rawValue) /\($0.path.description.trimmingPrefix("/"))" })
        #expect(
            routed == documented,
            "routed but not documented: \(routed.subtracting(documented)); documented but not routed: \(documented.subtracting(routed))"
        )
        // Every documented route of the full application answers with what the document says, not 404 or 405.
        try await app.application.test(.router) { client in
            let served = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            let file = try Data(contentsOf: documentURL)
            #expect(served.status == .ok && served.body == ByteBuffer(bytes: file))
            for route in documented where route != "GET /api/v1/openapi.json" {
                let parts = route.split(separator: " ")
                let uri = String(parts[1]).replacing("{email}", with: "a%40example.se").replacing("{id}", with: "1")
                let response = try await client.execute(uri: uri, method: HTTPRequest.Method(String(parts[0]))!)
                #expect(response.status == .unauthorized, "\(route): \(response.status)")
            }
        }
    }
}
