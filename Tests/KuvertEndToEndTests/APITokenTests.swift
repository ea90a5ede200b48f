import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("The API's bearer tokens")
struct APITokenTests {
    @Test("a missing, malformed, unknown or revoked token gets the same 401 with WWW-Authenticate: Bearer; a valid one passes")
    func authentication() async throws {
        let app = try await TestApp()
        try await app.addList()
        let secret = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "shop", tokenHash: APIToken.hash(secret), actor: "test", now: Date())
        let revoked = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "old", tokenHash: APIToken.hash(revoked), actor: "test", now: Date())
        #expect(try await app.store.revokeAPIToken(name: "old", actor: "test", now: Date()))
        try await app.application.test(.router) { client in
            var bodies: Set<String> = []
            for header in [
                nil, "Bearer", "Bearer ", "Basic \(secret)", "Bearer kuvert_" + String(repeating: "0", count: 64),
                "Bearer \(revoked)", "Bearer \(secret)x", "Bearer " + String(repeating: "k", count: 10_000),
            ] {
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                let response = try await client.execute(uri: "/api/v1/lists", method: .get, headers: headers)
                #expect(response.status == .unauthorized, "\(header ?? "none")")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                bodies.insert(String(buffer: response.body))
            }
            #expect(bodies.count == 1 && bodies.first?.contains(#""error":"unauthorized""#) == true, "\(bodies)")
            // The scheme in any case.
            let response = try await client.execute(
                uri: "/api/v1/lists",
                method: .get,
                headers: [.authorization: "bEaReR \(secret)"]
            )
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let body = String(buffer: response.body)
            #expect(body.contains(#""slug":"news""#) && body.contains(#""termsVersion":1"#), "\(body)")
        }
    }

    @Test("subscriptions start the double opt-in and never activate; subscribers are shown, exported and erased; errors are JSON")
    func routes() async throws {
        let app = try await TestApp()
        try await app.addList()
        let secret = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "shop", tokenHash: APIToken.hash(secret), actor: "test", now: Date())
        let auth: HTTPFields = [.authorization: "Bearer \(secret)", .contentType: "application/json"]
        try await app.application.test(.router) { client in
            // Without a token nothing is stored.
            let anonymous = try await client.execute(
                uri: "/api/v1/subscriptions",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"email":"eva@example.se"}"#)
            )
            #expect(anonymous.status == .unauthorized)
            #expect(try await app.count("SELECT count(*) FROM subscription") == 0)

            for _ in 0..<2 {
                let accepted = try await client.execute(
                    uri: "/api/v1/subscriptions",
                    method: .post,
                    headers: auth,
                    body: ByteBuffer(string: #"{"email":"eva@example.se","list":"news","name":"Eva","locale":"sv"}"#)
                )
                #expect(accepted.status == .accepted && String(buffer: accepted.body) == #"{"status":"pending"}"#)
            }
            #expect(try await app.status(of: "eva@example.se") == "pending")
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE source = 'api:shop' AND kind = 'requested'") == 1)
            #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE kind = 'confirmation'") == 1)
            for (body, status, code) in [
                (#"{"email":"eva@example.se","list":"nope"}"#, HTTPResponse.Status.notFound, "unknown_list"),
                (#"{"email":"not an address"}"#, .unprocessableContent, "invalid_email"),
                (#"{"email":"#, .badRequest, "malformed_body"),
            ] {
                let response = try await client.execute(uri: "/api/v1/subscriptions", method: .post, headers: auth, body: ByteBuffer(string: body))
                #expect(response.status == status, "\(body)")
                #expect(String(buffer: response.body).contains(#""error":"\#(code)""#), "\(body): \(String(buffer: response.body))")
            }
            var form = auth
            form[.contentType] = "application/x-www-form-urlencoded"
            let formPost = try await client.execute(
                uri: "/api/v1/subscriptions",
                method: .post,
                headers: form,
                body: ByteBuffer(string: "email=x%40example.se")
            )
            #expect(formPost.status == .unsupportedMediaType)

            let shown = try await client.execute(uri: "/api/v1/subscribers/eva%40example.se", method: .get, headers: auth)
            #expect(shown.status == .ok)
            #expect(String(buffer: shown.body).contains(#""status":"pending""#), "\(String(buffer: shown.body))")
            #expect(try await client.execute(uri: "/api/v1/subscribers/nobody%40example.se", method: .get, headers: auth).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/subscribers/garbage", method: .get, headers: auth).status == .unprocessableContent)
            let export = try await client.execute(uri: "/api/v1/subscribers/eva@example.se/export", method: .get, headers: auth)
            #expect(export.status == .ok && String(buffer: export.body).contains(#""address":"eva@example.se""#))
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'subscriber.exported' AND actor = 'api:shop'") == 1)
            #expect(try await client.execute(uri: "/api/v1/subscribers/eva%40example.se", method: .delete).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/subscribers/eva%40example.se", method: .delete, headers: auth).status == .noContent)
            #expect(try await client.execute(uri: "/api/v1/subscribers/eva%40example.se", method: .delete, headers: auth).status == .notFound)
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE erasedAt IS NOT NULL") == 1)
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'subscriber.erased' AND actor = 'api:shop'") == 1)
            // A known path with another method: 405 with Allow, as everywhere.
            let put = try await client.execute(uri: "/api/v1/lists", method: .put, headers: auth)
            #expect(put.status == .methodNotAllowed && put.headers[.allow]?.contains("GET") == true, "\(put.status) \(put.headers)")
            // Nobody became active through any of it.
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE status = 'active'") == 0)
        }
    }

    @Test("kuvert api-token create prints the token once and stores its hash; list; revoke stops it")
    func commandLine() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let created = try await kuvert.run("api-token", "create", "shop-backend")
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("kuvert_") && secret.count == 71)
        let stored = try #require(try await store.activeAPIToken(hash: APIToken.hash(secret)))
        #expect(stored.name == "shop-backend" && stored.matches(secret) && !stored.matches(secret + "x"))
        #expect(try await store.apiTokens().allSatisfy { $0.tokenHash != secret && !$0.tokenHash.contains("kuvert_") })
        #expect(try await kuvert.run("api-token", "create", "shop-backend").status == 1)
        #expect(try await kuvert.run("api-token", "create", "bad name").status == 2)
        #expect(try await kuvert.run("api-token", "list").stdout.contains("shop-backend"))
        #expect(try await kuvert.run("api-token", "revoke", "shop-backend").status == 0)
        #expect(try await store.activeAPIToken(hash: APIToken.hash(secret)) == nil)
        #expect(try await kuvert.run("api-token", "revoke", "shop-backend").status == 1)
        // The name is free again once revoked.
        #expect(try await kuvert.run("api-token", "create", "shop-backend").status == 0)
        let audit = try await kuvert.run("audit").stdout
        #expect(audit.contains("api-token.created") && audit.contains("api-token.revoked") && !audit.contains(secret))
    }
}
