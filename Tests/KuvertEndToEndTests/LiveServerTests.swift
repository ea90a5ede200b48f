import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("A live server")
struct LiveServerTests {
    @Test("serves health, intake and confirmation over a real socket, recording the client address")
    func live() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.live) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let subscribe = try await client.postJSON("/subscribe", #"{"email":"live@example.se"}"#)
            #expect(subscribe.status == .accepted)
            let link = try await app.newestConfirmationPath()
            let accepted = try await client.postForm(link, "accept_terms=yes")
            #expect(accepted.status == .ok)
        }
        #expect(try await app.status(of: "live@example.se") == "active")
        #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE kind = 'confirmed' AND ip = '127.0.0.1'") == 1)
    }
}
