import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("The embeddable form and its signed render time")
struct EmbeddableFormTests {
    func post(_ client: some TestClientProtocol, _ email: String, rendered: String?) async throws -> TestResponse {
        var body = "email=\(email)%40example.se&list=news"
        if let rendered { body += "&rendered=\(rendered)" }
        return try await client.postForm("/subscribe", body)
    }

    @Test("GET /form serves a frameable form with honeypot and render time; quick or forged posts store nothing")
    func renderTime() async throws {
        // A minute: "quick" stays quick however slowly a busy machine runs this test.
        let app = try await TestApp(formMinimumSeconds: 60)
        try await app.addList()
        let renderTime = FormRenderTime(signer: app.signer, minimum: app.settings.security.formMinimumSeconds)
        try await app.application.test(.router) { client in
            let form = try await client.execute(uri: "/form?list=news&locale=sv", method: .get)
            #expect(form.status == .ok)
            #expect(form.text.contains("name=\"website\"") && form.text.contains("value=\"news\"") && form.text.contains("Prenumerera"))
            #expect(form.headers[.xFrameOptions] == nil)
            #expect(form.headers[.contentSecurityPolicy]?.contains("frame-ancestors *") == true)
            let other = try await client.execute(uri: "/privacy", method: .get)
            #expect(other.headers[.xFrameOptions] == "DENY")
            let range = try #require(form.text.range(of: #"name="rendered" value=""#))
            let fresh = String(form.text[range.upperBound...].prefix { $0 != "\"" })

            let quick = try await post(client, "quick", rendered: fresh)
            let forged = try await post(client, "forged", rendered: String(fresh.dropLast()) + "A")
            let human = try await post(client, "human", rendered: renderTime.token(renderedAt: Date().addingTimeInterval(-120)))
            let plain = try await post(client, "plain", rendered: nil)
            // Bots get the same answer as people.
            #expect([quick, forged, human, plain].allSatisfy { $0.status == .ok })
            #expect(quick.text == human.text)
        }
        let stored = try await app.store.writer.read { db in try String.fetchAll(db, sql: "SELECT address FROM subscriber ORDER BY id") }
        #expect(stored == ["human@example.se", "plain@example.se"])
    }
}
