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

@Suite("The API's rectification and restriction")
struct APISubscriberChangeTests {
    @Test("PATCH corrects name and language; POST and DELETE /restriction restrict and lift it; bad input is refused and changes nothing")
    func changes() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.store.activate("eva@example.se")
        let secret = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "crm", tokenHash: APIToken.hash(secret), actor: "test", now: Date())
        let auth: HTTPFields = [.authorization: "Bearer \(secret)", .contentType: "application/json"]
        let path = "/api/v1/subscribers/eva%40example.se"
        try await app.application.test(.router) { client in
            func call(
                _ uri: String,
                _ method: HTTPRequest.Method,
                _ body: String? = nil,
                headers: HTTPFields? = nil
            ) async throws
                -> TestResponse
            {
                try await client.execute(uri: uri, method: method, headers: headers ?? auth, body: body.map { ByteBuffer(string: $0) })
            }
            let patched = try await call(path, .patch, #"{"name":"Eva Ek","locale":"sv"}"#)
            #expect(patched.status == .ok)
            #expect(patched.text.contains(#""name":"Eva Ek""#) && patched.text.contains(#""language":"sv""#), "\(patched.text)")
            #expect(patched.text.contains(#""restricted":false"#))
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'subscriber.rectified' AND actor = 'api:crm'") == 1)

            // Refused, each with the field it names, and nothing changes.
            for (body, status) in [
                (#"{"name":"Eva\r\nBcc: x@example.se"}"#, HTTPResponse.Status.unprocessableContent),
                (#"{"locale":"de"}"#, .unprocessableContent),
                (#"{"email":"not an address"}"#, .unprocessableContent),
                (#"{"mail":"ny@example.se"}"#, .unprocessableContent),
                (#"{}"#, .unprocessableContent),
                (#"{"name":"#, .badRequest),
            ] {
                let refused = try await call(path, .patch, body)
                #expect(refused.status == status, "\(body): \(refused.status)")
                #expect(refused.text.contains(#""error":"#), "\(refused.text)")
            }
            #expect(try await call("/api/v1/subscribers/nobody%40example.se", .patch, #"{"name":"X"}"#).status == .notFound)
            #expect(try await call(path, .patch, #"{"name":"X"}"#, headers: [.contentType: "application/json"]).status == .unauthorized)
            #expect(try await app.count("SELECT count(*) FROM subscription WHERE name = 'Eva Ek' AND language = 'sv'") == 1)

            // A new address waits for its owner.
            let moving = try await call(path, .patch, #"{"email":"eva.ny@example.se"}"#)
            #expect(moving.status == .ok && moving.text.contains(#""pendingEmail":"eva.ny@example.se""#), "\(moving.text)")
            #expect(moving.text.contains(#""email":"eva@example.se""#))
            #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE kind = 'address'") == 1)

            let restricted = try await call(path + "/restriction", .post, #"{"reason":"begärt per telefon"}"#)
            #expect(restricted.status == .ok && restricted.text.contains(#""restricted":true"#), "\(restricted.text)")
            #expect(try await call(path + "/restriction", .post, headers: [.authorization: "Bearer \(secret)"]).status == .ok)
            #expect(try await call(path + "/restriction", .post, #"{"reason":"a\nb"}"#).status == .unprocessableContent)
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE restrictionReason = 'begärt per telefon'") == 1)
            let lifted = try await call(path + "/restriction", .delete)
            #expect(lifted.status == .ok && lifted.text.contains(#""restricted":false"#))
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE restrictedAt IS NOT NULL") == 0)
            #expect(
                try await app.count(
                    "SELECT count(*) FROM auditEvent WHERE actor = 'api:crm' AND action IN ('subscriber.restricted', 'subscriber.unrestricted')"
                ) == 2
            )
        }
    }
}
