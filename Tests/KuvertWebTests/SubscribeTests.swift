import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("POST /subscribe")
struct SubscribeTests {
    @Test("a JSON request gets 202 pending and stores a pending subscription with a queued mail")
    func json() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            let response = try await client.postJSON(
                "/subscribe",
                #"{"email":"anna@example.se","list":"news","name":"Anna","locale":"sv"}"#,
                headers: [.userAgent: "FormBot/1"]
            )
            #expect(response.status == .accepted)
            #expect(response.text == #"{"status":"pending"}"#)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        }
        #expect(try await app.status(of: "anna@example.se") == "pending")
        #expect(try await app.count("SELECT count(*) FROM outboxMessage WHERE kind = 'confirmation'") == 1)
        #expect(try await app.count("SELECT count(*) FROM subscription WHERE language = 'sv' AND name = 'Anna'") == 1)
        #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE source = 'api' AND userAgent = 'FormBot/1'") == 1)
    }

    @Test("a form post gets the localised check-your-inbox page, or 303 to the list's thanks URL")
    func form() async throws {
        let app = try await TestApp()
        try await app.addList("news")
        try await app.addList("events", thanksURL: "https://example.se/tack")
        try await app.application.test(.router) { client in
            let page = try await client.postForm("/subscribe", "email=anna%40example.se", headers: [.acceptLanguage: "sv-SE,en;q=0.5"])
            #expect(page.status == .ok)
            #expect(page.text.contains("Titta i din inkorg"))
            #expect(page.text.contains("News &amp; Views"))
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let redirect = try await client.postForm("/subscribe", "email=anna%40example.se&list=events")
            #expect(redirect.status == .seeOther)
            #expect(redirect.headers[.location] == "https://example.se/tack")
        }
        #expect(try await app.count("SELECT count(*) FROM subscription") == 2)
    }

    @Test("new, pending, active and unsubscribed addresses get byte-identical answers")
    func noEnumeration() async throws {
        let app = try await TestApp()
        try await app.addList()
        for email in ["pending@example.se", "active@example.se", "gone@example.se"] {
            _ = try await app.store.request(email, resendWindow: 3_600)
        }
        try await app.store.writer.write { db in
            try db.execute(
                sql: """
                    UPDATE subscription SET status = 'active', confirmedAt = updatedAt
                    WHERE subscriberId = (SELECT id FROM subscriber WHERE address = 'active@example.se');
                    UPDATE subscription SET status = 'unsubscribed', endedAt = updatedAt
                    WHERE subscriberId = (SELECT id FROM subscriber WHERE address = 'gone@example.se');
                    """
            )
        }
        try await app.application.test(.router) { client in
            for encoding in ["json", "form"] {
                var answers: [String: (HTTPResponse.Status, [String], String)] = [:]
                for email in ["new@example.se", "pending@example.se", "active@example.se", "gone@example.se", "trap@example.se"] {
                    let response: TestResponse
                    let honeypot = email.hasPrefix("trap") ? "I am a bot" : ""
                    if encoding == "json" {
                        response = try await client.postJSON("/subscribe", #"{"email":"\#(email)","website":"\#(honeypot)"}"#)
                    } else {
                        response = try await client.postForm("/subscribe", "email=\(email)&website=\(honeypot)")
                    }
                    let headers = response.headers.filter { $0.name != .date }.map { "\($0.name): \($0.value)" }
                    answers[email] = (response.status, headers, response.text)
                }
                let reference = try #require(answers["new@example.se"])
                for (email, answer) in answers {
                    #expect(answer.0 == reference.0, "\(encoding) \(email)")
                    #expect(answer.1 == reference.1, "\(encoding) \(email)")
                    #expect(answer.2 == reference.2, "\(encoding) \(email)")
                }
            }
        }
        // Three set-up mails, then one each for the new and the re-subscribing address;
        // the second round falls within the resend window and sends nothing.
        #expect(try await app.count("SELECT count(*) FROM outboxMessage") == 3 + 2)
        #expect(try await app.count("SELECT count(*) FROM subscriber WHERE address LIKE 'trap%'") == 0)
        #expect(try await app.status(of: "active@example.se") == "active")
    }

    @Test("a filled honeypot looks like success and stores nothing")
    func honeypot() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            let json = try await client.postJSON("/subscribe", #"{"email":"victim@example.se","website":"http://spam"}"#)
            #expect(json.status == .accepted)
            let form = try await client.postForm("/subscribe", "email=not-even-valid&website=x")
            #expect(form.status == .ok)
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber") == 0)
        #expect(try await app.count("SELECT count(*) FROM outboxMessage") == 0)
    }

    static let badInput: [(String, String, Int, String)] = [
        // (content type, body, status, JSON error code)
        ("application/json", #"{"email":"not-an-address"}"#, 422, "invalid_email"),
        ("application/json", #"{"email":"Anna <anna@example.se>"}"#, 422, "invalid_email"),
        ("application/json", #"{"email":"anna@example.se\r\nBcc: x@example.com"}"#, 422, "invalid_email"),
        ("application/json", #"{"name":"Anna"}"#, 422, "invalid_field"),
        ("application/json", #"{"email":"anna@example.se","list":"nope"}"#, 422, "unknown_list"),
        ("application/json", #"{"email":"anna@example.se","list":"../../etc"}"#, 422, "unknown_list"),
        ("application/json", #"{"email":["anna@example.se"]}"#, 422, "invalid_field"),
        ("application/json", #"{"email":{"a":{"b":"c"}}}"#, 400, "malformed_body"),
        ("application/json", #"{"email":42}"#, 422, "invalid_field"),
        ("application/json", #"{"email":"anna@example.se","name":"Line\nbreak"}"#, 422, "invalid_field"),
        ("application/json", #"["anna@example.se"]"#, 400, "malformed_body"),
        ("application/json", #"{"email":"#, 400, "malformed_body"),
        ("application/json", String(repeating: "[", count: 5000), 400, "malformed_body"),
        ("application/json", "", 400, "malformed_body"),
        ("application/x-www-form-urlencoded", "email=a%40example.se&email=b%40example.se", 422, "duplicate_field"),
        ("application/x-www-form-urlencoded", "email=%E0%A4%A", 400, "malformed_body"),
        ("application/x-www-form-urlencoded", "email=%ff%fe%40example.se", 400, "malformed_body"),
        ("text/plain", "email=anna@example.se", 415, "unsupported_media_type"),
        ("multipart/form-data; boundary=x", "--x--", 415, "unsupported_media_type"),
        ("application/xml", "<email/>", 415, "unsupported_media_type"),
    ]

    @Test("bad input gets a precise status and error code and stores nothing", arguments: badInput)
    func refusesBadInput(contentType: String, body: String, status: Int, code: String) async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            let response = try await client.execute(
                uri: "/subscribe",
                method: .post,
                headers: [.contentType: contentType, .accept: "application/json"],
                body: ByteBuffer(string: body)
            )
            #expect(response.status.code == status)
            let json = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: String]
            #expect(json?["error"] == code)
            #expect((json?["message"]?.count ?? 0) > 10)
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber") == 0)
    }

    @Test("a body over the limit gets 413, whether it declares its length or not")
    func tooLarge() async throws {
        let app = try await TestApp(maxBodyBytes: 1024)
        try await app.addList()
        let big = "email=anna%40example.se&name=" + String(repeating: "x", count: 2000)
        try await app.application.test(.router) { client in
            let declared = try await client.postForm("/subscribe", big)
            #expect(declared.status == .contentTooLarge)
            let json = try await client.postJSON("/subscribe", #"{"email":"a@example.se","name":"\#(String(repeating: "y", count: 2000))"}"#)
            #expect(json.status == .contentTooLarge)
            #expect(json.text.contains("body_too_large"))
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber") == 0)
    }

    @Test("form errors are answered as a localised page that escapes what was typed")
    func formErrorPage() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.application.test(.router) { client in
            let response = try await client.postForm("/subscribe", "email=%3Cscript%3Ealert(1)%3C%2Fscript%3E&locale=sv")
            #expect(response.status == .unprocessableContent)
            #expect(response.text.contains("Kontrollera formuläret"))
            #expect(!response.text.contains("<script>"))
            #expect(response.text.contains("&lt;script&gt;"))
            #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            // A Swedish page says what is wrong in Swedish, every word of it.
            let dots = try await client.postForm("/subscribe", "email=anna..svensson%40example.se&locale=sv")
            #expect(dots.text.contains("<html lang=\"sv\">"))
            #expect(dots.text.contains("Delen före @ kan inte börja eller sluta med en punkt"), "\(dots.text)")
            let longName = try await client.postForm("/subscribe", "email=anna%40example.se&locale=sv&name=" + String(repeating: "x", count: 300))
            #expect(longName.text.contains("Namnet får vara högst"))
            let unknownList = try await client.postForm("/subscribe", "email=anna%40example.se&locale=sv&list=ingen")
            #expect(unknownList.text.contains("Det finns ingen lista som heter &#39;ingen&#39;."))
            // English pages stay English.
            let english = try await client.postForm("/subscribe", "email=anna..svensson%40example.se&locale=en")
            #expect(english.text.contains("The part before the @ cannot start or end with a dot"))
        }
    }

    @Test("with no list at all, a form post is told so instead of failing")
    func noList() async throws {
        let app = try await TestApp()
        try await app.application.test(.router) { client in
            let response = try await client.postJSON("/subscribe", #"{"email":"anna@example.se"}"#)
            #expect(response.status == .unprocessableContent)
            #expect(response.text.contains("unknown_list"))
        }
    }
}
