import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

/// `POST /webhooks/bounces/{provider}` over real HTTP, about newsletters the
/// mailer really sent over SMTP: each event names its message by what the
/// sent mail carried (the Message-ID, Postmark's metadata header, SendGrid's
/// unique argument), signed or authenticated as each service does.
@Suite("Bounce webhooks over HTTP, about mail Kuvert sent", .serialized)
struct BounceWebhookRoutesTests {
    static let secret = "kuvert-bounce-webhook-secret-16+"

    @Test("each service's event about a sent newsletter bounces or unsubscribes its person once; forged, unknown and bad posts change nothing")
    func fromSentMail() async throws {
        let server = try SMTPTestServer()
        let sns = try SNSStandIn()
        let sendgridKey = P256.Signing.PrivateKey()
        let box = MailerBox()
        let app = try await TestApp(
            smtpURL: server.url,
            mailer: box,
            trustedProxies: ["127.0.0.1"],
            bounceWebhooks: BounceWebhookSettings([
                .postmark: "kuvert:\(Self.secret)", .sendgrid: sendgridKey.publicKey.derRepresentation.base64EncodedString(),
                .mailgun: Self.secret, .ses: SNSStandIn.topic,
            ]),
            httpsGet: HTTPSGet(caFile: sns.caFile, connectTo: sns.connectTo)
        )
        try await app.addList()
        let people = ["hard", "complainer", "other"]
        for person in people { try await app.store.activate("\(person)@example.se") }
        try await app.queueNewsletter("Nyheter")
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await server.waitFor { server.messages().count == 3 }
        var sent: [String: [String: String]] = [:]
        for mail in server.messages() { sent[String(mail.to[0].prefix { $0 != "@" })] = mail.headerFields }
        let hard = try #require(sent["hard"])
        let complainer = try #require(sent["complainer"])
        let other = try #require(sent["other"])
        // What each service echoes: the Message-ID carries the message's tag, and so do the services' own headers.
        let tag = try #require(hard["x-pm-metadata-kuvert-message"])
        #expect(try #require(hard["message-id"]).hasPrefix("<\(tag)."))
        #expect(try #require(complainer["x-smtpapi"]).hasPrefix(#"{"unique_args":{"kuvert_message":"m"#))

        try await app.application.test(.live) { client in
            func post(_ provider: String, _ body: String, _ headers: HTTPFields = [:]) async throws -> TestResponse {
                try await client.execute(uri: "/webhooks/bounces/\(provider)", method: .post, headers: headers, body: ByteBuffer(string: body))
            }
            let basic: HTTPFields = [.authorization: "Basic " + Data("kuvert:\(Self.secret)".utf8).base64EncodedString()]

            // Postmark: a hard bounce, by the metadata Postmark echoes.
            let bounce = """
                {"RecordType":"Bounce","ID":42,"Type":"HardBounce","TypeCode":1,"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483",
                 "Metadata":{"kuvert-message":"\(tag)"},"Details":"smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                 "Email":"hard@example.se","BouncedAt":"2026-12-07T06:00:00Z"}
                """
            let first = try await post("postmark", bounce, basic)
            #expect(first.status == .ok && first.text.contains(#""recorded":"1""#), "\(first.text)")
            #expect(try await app.status(of: "hard@example.se") == "bounced")
            // Postmark retries what it thinks failed: the same event has no second effect.
            let again = try await post("postmark", bounce, basic)
            #expect(again.status == .ok && again.text.contains(#""duplicates":"1""#) && again.text.contains(#""recorded":"0""#))
            #expect(try await app.count("SELECT count(*) FROM bounceEvent WHERE providerEvent = 'postmark:Bounce:42'") == 1)
            #expect(try await app.count("SELECT count(*) FROM auditEvent WHERE action = 'subscription.bounced'") == 1)

            // SendGrid: a spam report, by the unique argument SendGrid puts on every event.
            let uniqueArgs = try #require(complainer["x-smtpapi"])
            let complainerTag = try #require(uniqueArgs.split(separator: "\"").first { $0.hasPrefix("m") && $0.contains("-") })
            let report =
                #"[{"email":"complainer@example.se","timestamp":1765087200,"event":"spamreport","sg_event_id":"sg-1","kuvert_message":"\#(complainerTag)"}]"#
            let timestamp = String(Int(Date().timeIntervalSince1970))
            let signature = try sendgridKey.signature(for: Data((timestamp + report).utf8)).derRepresentation.base64EncodedString()
            var signed: HTTPFields = [:]
            signed[HTTPField.Name(SendGridWebhook.signatureHeader)!] = signature
            signed[HTTPField.Name(SendGridWebhook.timestampHeader)!] = timestamp
            #expect(try await post("sendgrid", report, signed).text.contains(#""recorded":"1""#))
            #expect(try await app.status(of: "complainer@example.se") == "unsubscribed")
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE kind = 'withdrawn' AND source = 'complaint'") == 1)

            // Mailgun: a temporary failure by the Message-ID (changes nothing), then SES: the mailbox is gone.
            let messageId = try #require(other["message-id"])
            let mailgunTime = String(Int(Date().timeIntervalSince1970))
            let token = "f2c8d6a1b3e5"
            let mailgunSignature = HMAC<SHA256>.authenticationCode(
                for: Data((mailgunTime + token).utf8),
                using: SymmetricKey(data: Data(Self.secret.utf8))
            )
            let failed = """
                {"signature":{"timestamp":"\(mailgunTime)","token":"\(token)","signature":"\(Array(mailgunSignature).lowercaseHex)"},
                 "event-data":{"event":"failed","id":"mg-1","severity":"temporary","reason":"generic",
                  "delivery-status":{"code":452,"message":"4.2.2 mailbox over quota"},
                  "message":{"headers":{"message-id":"\(messageId.dropFirst().dropLast())"}}}}
                """
            #expect(try await post("mailgun", failed).text.contains(#""recorded":"1""#))
            #expect(try await app.status(of: "other@example.se") == "active")
            let ses = try sns.envelope(
                message: SNSStandIn.sesBounce(
                    type: "Permanent",
                    subType: "General",
                    status: "5.1.1",
                    diagnostic: "smtp; 550 5.1.1 user unknown",
                    messageId: messageId
                )
            )
            let sesAnswer = try await post(
                "ses",
                ses,
                [HTTPField.Name("x-amz-sns-message-type")!: "Notification", .contentType: "text/plain; charset=UTF-8"]
            )
            #expect(sesAnswer.status == .ok && sesAnswer.text.contains(#""recorded":"1""#), "\(sesAnswer.text)")
            #expect(try await app.status(of: "other@example.se") == "bounced")

            // Events naming no message of Kuvert's: a forged tag, an address alone. 200, nothing changes.
            let events = try await app.count("SELECT count(*) FROM bounceEvent")
            let forgedTag = String(tag.dropLast()) + (tag.last == "a" ? "b" : "a")
            for metadata in [#"{"kuvert-message":"\#(forgedTag)"}"#, "{}"] {
                let forged = #"{"RecordType":"SpamComplaint","ID":43,"Type":"SpamComplaint","Email":"other@example.se","Metadata":\#(metadata)}"#
                let answer = try await post("postmark", forged, basic)
                #expect(answer.status == .ok && answer.text.contains(#""events":"1""#) && answer.text.contains(#""recorded":"0""#))
            }
            #expect(try await app.count("SELECT count(*) FROM bounceEvent") == events)

            // Refused: wrong credentials (with the scheme to use), a body that is no record, too large, not configured.
            let unauthorized = try await post("postmark", bounce, [.authorization: "Basic a3V2ZXJ0Ondyb25n"])
            #expect(unauthorized.status == .unauthorized && unauthorized.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            #expect(try await post("sendgrid", report, [:]).status == .unauthorized)
            #expect(try await post("postmark", "[1,2", basic).status == .badRequest)
            #expect(try await post("postmark", String(repeating: " ", count: BounceWebhooks.maximumBodySize + 1), basic).status == .contentTooLarge)
            let brevo = try await post("brevo", "{}")
            #expect(brevo.status == .notFound && brevo.text.contains("KUVERT_BOUNCE_WEBHOOK_BREVO is not set"))
            #expect(try await post("nonesuch", "{}").status == .notFound)
            #expect(try await client.execute(uri: "/webhooks/bounces/postmark", method: .get).status == .methodNotAllowed)
            #expect(try await app.count("SELECT count(*) FROM bounceEvent") == events)

            // Counted as bounces by mail are.
            let metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains(#"kuvert_bounces_total{kind="hard"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"kuvert_bounces_total{kind="complaint"} 1"#) && metrics.contains(#"kuvert_bounces_total{kind="transient"} 1"#))
        }
        let listed = try await app.store.latestBounces(limit: 10)
        #expect(listed.map { $0.event.providerEvent.map { String($0.prefix(4)) } } == ["ses:", "mail", "send", "post"])
        #expect(listed.map(\.address) == ["other@example.se", "other@example.se", "complainer@example.se", "hard@example.se"])
    }

    @Test("without any KUVERT_BOUNCE_WEBHOOK_ the route answers 404 naming the setting")
    func unconfigured() async throws {
        let app = try await TestApp()
        try await app.application.test(.router) { client in
            let answer = try await client.execute(uri: "/webhooks/bounces/ses", method: .post, body: ByteBuffer(string: "{}"))
            #expect(answer.status == .notFound && answer.text.contains("No KUVERT_BOUNCE_WEBHOOK_<PROVIDER> is set"))
        }
    }
}
