import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("The stylesheet")
struct StylesheetTests {
    @Test("served once at /style.css, linked by every page, and the only style the policy allows")
    func stylesheet() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            let sheet = try await client.execute(uri: "/style.css", method: .get)
            #expect(sheet.status == .ok)
            #expect(sheet.headers[.contentType] == "text/css; charset=utf-8")
            #expect(sheet.text.contains("@media (max-width: 42rem)"))
            #expect(sheet.text.contains(":focus-visible"))
            #expect(!sheet.text.contains("{{"))
            for uri in ["/form?locale=sv", "/form?locale=en", "/privacy", "/confirm/garbage", "/unsubscribe/garbage"] {
                let page = try await client.execute(uri: uri, method: .get)
                #expect(page.text.contains(#"<link rel="stylesheet" href="/style.css">"#), "\(uri)")
                #expect(!page.text.contains("<style"), "\(uri)")
                #expect(page.headers[.contentSecurityPolicy]?.contains("style-src 'self';") == true, "\(uri)")
            }
        }
    }
}
