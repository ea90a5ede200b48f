import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

/// Ink was exponential on runs of '[' (22 took 15.7 s): two API requests with
/// 27 bytes of Markdown pinned both cores, and terms holding such a run did the
/// same on every confirmation page. cmark-gfm is linear on any input.
@Suite("Pathological Markdown stops nothing")
struct PathologicalMarkdownTests {
    static let bodies = [
        String(repeating: "[", count: 12_000),
        String(repeating: "[a](", count: 3_000),
        String(repeating: "*a_", count: 4_000),
        (0..<1_000).map { String(repeating: "  ", count: $0 % 100) + "- x" }.joined(separator: "\n"),
        // A million cells once padded, from 7 KB: left as text.
        "|" + String(repeating: "a|", count: 1_000) + "\n|" + String(repeating: "-|", count: 1_000) + "\n"
            + String(repeating: "|x\n", count: 1_000),
    ]

    @Test("campaigns and terms full of brackets, emphasis and nesting are created and shown while /healthz answers")
    func serverKeepsAnswering() async throws {
        let app = try await TestApp(maxBodyBytes: 64 * 1024)
        try await app.addList()
        let secret = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "editor", tokenHash: APIToken.hash(secret), actor: "test", now: Date())
        let auth: HTTPFields = [.authorization: "Bearer \(secret)", .contentType: "application/json"]
        try await app.application.test(.live) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"reader@example.se"}"#)
            let confirm = try await app.newestConfirmationPath()
            // One request after another: with Ink the first of them pinned a core for good.
            for body in Self.bodies {
                let json = try JSONSerialization.data(withJSONObject: ["list": "news", "subject": "Hej", "markdown": body])
                let created = try await client.execute(uri: "/api/v1/campaigns", method: .post, headers: auth, body: ByteBuffer(bytes: json))
                #expect(created.status == .created)
                #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            }
            // The terms a person reads on the confirmation page.
            _ = try await app.store.publishTerms(
                listSlug: "news",
                body: Self.bodies.joined(separator: "\n\n"),
                actor: "test",
                now: Date()
            )
            for _ in 0..<2 {
                let page = try await client.execute(uri: confirm, method: .get)
                #expect(page.status == .ok && page.text.contains("[[[[[[[["))
                #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            }
        }
        #expect(try await app.count("SELECT count(*) FROM campaign") == Self.bodies.count)
    }
}
