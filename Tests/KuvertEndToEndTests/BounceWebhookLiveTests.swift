import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore

/// The bounce webhooks through `kuvert serve` on PostgreSQL, over real HTTP,
/// about confirmation mail the server really sent over SMTP: Mailjet's and
/// Brevo's events, authenticated as each documents, naming their messages by
/// what the mail carried.
@Suite("Bounce webhooks through kuvert serve on PostgreSQL", .serialized)
struct BounceWebhookLiveTests {
    static let secret = String(repeating: "w3bh00k-s3cret-", count: 3)
    static let password = "mailjet-password-0123456789"
    static let token = "brevo-token-0123456789abcdef"

    @Test("a Mailjet hard bounce bounces its person once, a Brevo spam report unsubscribes the other; an event naming no message changes nothing")
    func mailjetAndBrevo() async throws {
        let cluster = try PostgresCluster()
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let port = try freeLoopbackPort()
        let environment = [
            "KUVERT_DATABASE": cluster.url, "KUVERT_SECRET": Self.secret, "KUVERT_SMTP_URL": smtp.url, "KUVERT_BASE_URL": "http://kuvert.test",
            "KUVERT_LISTEN": "127.0.0.1:\(port)", "KUVERT_BOUNCE_WEBHOOK_MAILJET": "kuvert:\(Self.password)",
            "KUVERT_BOUNCE_WEBHOOK_BREVO": Self.token,
        ]
        #expect(try await kuvert.run(["migrate"], environment: environment).status == 0)
        let terms = try kuvert.writeTerms("# Terms\n\nOne letter a month.")
        #expect(try await kuvert.run(["lists", "add", "news", "--name", "News", "--terms", terms], environment: environment).status == 0)
        let serve = try kuvert.start("serve", environment: environment, log: kuvert.dataDirectory + "/serve.log")
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        try await eventually(timeout: 30, "the server answers") { (try? await http(base + "/healthz").status) == 200 }

        for person in ["gone", "annoyed"] {
            #expect(try await http(base + "/subscribe", method: "POST", form: "email=\(person)%40example.se&list=news").status == 200)
        }
        try await smtp.waitFor(timeout: 30) { smtp.messages().count == 2 }
        var sent: [String: [String: String]] = [:]
        for mail in smtp.messages() { sent[String(mail.to[0].prefix { $0 != "@" })] = mail.headerFields }
        let tag = try #require(sent["gone"]?["x-mj-customid"])
        let messageId = try #require(sent["annoyed"]?["message-id"])
        #expect(try #require(sent["gone"]?["message-id"]).hasPrefix("<\(tag)."))

        let basic = ["Authorization": "Basic " + Data("kuvert:\(Self.password)".utf8).base64EncodedString()]
        let bounce = """
            {"event":"bounce","time":1765087200,"MessageID":19421777835146490,"Message_GUID":"1ab23cd4-e567-8901-2345-6789f0gh1i2j",
             "email":"gone@example.se","mj_campaign_id":0,"mj_contact_id":0,"customcampaign":"","CustomID":"\(tag)","Payload":"",
             "blocked":false,"hard_bounce":true,"error_related_to":"recipient","error":"user unknown"}
            """
        let first = try await http(base + "/webhooks/bounces/mailjet", method: "POST", json: bounce, headers: basic)
        #expect(first.status == 200 && first.body.contains(#""recorded":"1""#), "\(first.body)")
        let again = try await http(base + "/webhooks/bounces/mailjet", method: "POST", json: bounce, headers: basic)
        #expect(again.status == 200 && again.body.contains(#""duplicates":"1""#))
        // (The 401 without credentials is tested over HTTP in BounceWebhookRoutesTests: Foundation's
        // URLSession here waits for a credential when a 401 asks for Basic.)

        let spam =
            #"{"event":"spam","email":"annoyed@example.se","id":1,"date":"2026-12-07 07:00:00","ts":1765090800,"message-id":"\#(messageId)","ts_event":1765090800}"#
        let reported = try await http(
            base + "/webhooks/bounces/brevo",
            method: "POST",
            json: spam,
            headers: ["Authorization": "Bearer \(Self.token)"]
        )
        #expect(reported.status == 200 && reported.body.contains(#""recorded":"1""#), "\(reported.body)")
        // An address alone names nothing.
        let forged = #"{"event":"spam","email":"gone@example.se","id":1,"ts_event":1765090801,"message-id":"<someone@else.example>"}"#
        let ignored = try await http(
            base + "/webhooks/bounces/brevo",
            method: "POST",
            json: forged,
            headers: ["Authorization": "Bearer \(Self.token)"]
        )
        #expect(ignored.status == 200 && ignored.body.contains(#""recorded":"0""#))

        #expect(
            try cluster.psql("SELECT p.address || ' ' || s.status FROM subscription s JOIN subscriber p ON p.id = s.subscriberId ORDER BY p.address")
                .output == "annoyed@example.se unsubscribed\ngone@example.se bounced\n"
        )
        #expect(try cluster.psql("SELECT count(*) FROM bounceEvent").output == "2\n")
        #expect(try cluster.psql("SELECT count(*) FROM consentEvent WHERE kind = 'withdrawn' AND source = 'complaint'").output == "1\n")
        let listing = try await kuvert.run(["bounces"], environment: environment)
        #expect(listing.stdout.contains("gone@example.se") && listing.stdout.contains("complaint"), "\(listing.stdout)")
        #expect(listing.stdout.contains(" mailjet ") && listing.stdout.contains(" brevo "), "\(listing.stdout)")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }
}
