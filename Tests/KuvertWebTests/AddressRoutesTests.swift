import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("A new address over HTTP, with real mail", .serialized)
struct AddressRoutesTests {
    @Test("from the privacy page: a link to the new address, its page, the change, a notice to the old one; a taken address changes nothing")
    func newAddress() async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.store.activate("olle@example.se")
        try await app.store.activate("upptagen@example.se")
        try await app.store.writer.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'sent'") }
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        let olle = try #require(try await app.store.subscriber(address: try EmailAddress("olle@example.se"))?.id)
        let privacy = "/privacy/" + PrivacyLink.token(forSubscriber: olle, signer: app.signer, now: Date())

        try await app.application.test(.router) { client in
            let page = try await client.execute(uri: privacy, method: .get)
            #expect(page.text.contains(#"action="\#(privacy)/address""#))
            let asked = try await client.postForm(privacy + "/address", "email=olle.ny%40example.se")
            #expect(asked.status == .ok && asked.text.contains("har vi skickat en länk dit"))
            #expect(try await app.status(of: "olle@example.se") == "active")

            try await server.waitFor { server.messages().count == 1 }
            let mail = try server.messages()[0]
            #expect(mail.to == ["olle.ny@example.se"])
            let text = try #require(try mail.parsed().part("text/plain")).content
            let url = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test/address/") })
            let path = String(url.dropFirst("http://kuvert.test".count))

            let shown = try await client.execute(uri: path, method: .get)
            #expect(shown.status == .ok && shown.text.contains("olle.ny@example.se") && !shown.text.contains("olle@example.se"))
            #expect(try await app.status(of: "olle@example.se") == "active")
            let changed = try await client.execute(uri: path, method: .post, headers: [.userAgent: "Mobil/1"])
            #expect(changed.status == .ok && changed.text.contains("Din adress är bytt"))
            #expect(try await app.status(of: "olle.ny@example.se") == "active")
            #expect(try await app.status(of: "olle@example.se") == nil)
            #expect(try await client.execute(uri: path, method: .post).status == .gone)
            try await server.waitFor { server.messages().count == 2 }
            #expect(server.messages()[1].to == ["olle@example.se"])
            #expect(try server.messages()[1].parsed().headers["Subject"] == "Dina prenumerationer har flyttat till en ny adress")

            // A taken address: the same answer, a mail that says so, nothing changes when its link is used.
            let newPrivacy = "/privacy/" + PrivacyLink.token(forSubscriber: olle, signer: app.signer, now: Date())
            let takenAnswer = try await client.postForm(newPrivacy + "/address", "email=upptagen%40example.se")
            #expect(takenAnswer.status == .ok && takenAnswer.text.contains("har vi skickat en länk dit"))
            try await server.waitFor { server.messages().count == 3 }
            let takenText = try #require(try server.messages()[2].parsed().part("text/plain")).content
            #expect(takenText.contains("hör redan till en prenumerant") && !takenText.contains("/address/"))

            let bad = try await client.postForm(newPrivacy + "/address", "email=inte+en+adress")
            #expect(bad.status == .unprocessableContent)
            let foreign = try await client.execute(uri: "/address/" + ManageLink.token(forSubscriber: olle, signer: app.signer), method: .get)
            #expect(foreign.status == .badRequest)
        }
        #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE kind = 'rectified' AND userAgent = 'Mobil/1'") == 1)
        mailerTask.cancel()
        try await mailerTask.value
    }
}
