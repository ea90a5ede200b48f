import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertTestSupport
import Testing
@testable import KuvertCore
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
            for header in [nil, "Bearer", "Bearer ", "Basic \(secret)", "Bearer kuvert_" + String(repeating: "0", count: 64),
                           "Bearer \(revoked)", "Bearer \(secret)x", "Bearer " + String(repeating: "k", count: 10_000)] {
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
                uri: "/api/v1/lists", method: .get, headers: [.authorization: "bEaReR \(secret)"])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let body = String(buffer: response.body)
            #expect(body.contains(#""slug":"news""#) && body.contains(#""termsVersion":1"#), "\(body)")
        }
    }

    @Test("kuvert api-token create prints the token once and stores its hash; list; revoke stops it")
    func commandLine() async throws {
        let kuvert = KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try kuvert.newsList()
        let created = try kuvert.run("api-token", "create", "shop-backend")
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("kuvert_") && secret.count == 71)
        let stored = try #require(try await store.activeAPIToken(hash: APIToken.hash(secret)))
        #expect(stored.name == "shop-backend" && stored.matches(secret) && !stored.matches(secret + "x"))
        #expect(try await store.apiTokens().allSatisfy { $0.tokenHash != secret && !$0.tokenHash.contains("kuvert_") })
        #expect(try kuvert.run("api-token", "create", "shop-backend").status == 1)
        #expect(try kuvert.run("api-token", "create", "bad name").status == 2)
        #expect(try kuvert.run("api-token", "list").stdout.contains("shop-backend"))
        #expect(try kuvert.run("api-token", "revoke", "shop-backend").status == 0)
        #expect(try await store.activeAPIToken(hash: APIToken.hash(secret)) == nil)
        #expect(try kuvert.run("api-token", "revoke", "shop-backend").status == 1)
        // The name is free again once revoked.
        #expect(try kuvert.run("api-token", "create", "shop-backend").status == 0)
        let audit = try kuvert.run("audit").stdout
        #expect(audit.contains("api-token.created") && audit.contains("api-token.revoked") && !audit.contains(secret))
    }
}
