import Crypto
import Foundation
import KuvertTestSupport
import Testing

@testable import KuvertCore

/// Each sending service's webhook as its documentation describes it: the
/// authentication made by the documented scheme (SendGrid's own published
/// test vector among them), and event bodies shaped as the documented
/// examples, with the fields each service names.
@Suite("Bounce webhooks: each service's authentication and events")
struct BounceWebhookReaderTests {
    static let secret = "kuvert-bounce-webhook-secret-16+"
    let now = Date()

    func reader(_ provider: BounceWebhookProvider, _ value: String, get: HTTPSGet = HTTPSGet()) throws -> any BounceWebhookReader {
        try #require(try BounceWebhookSettings([provider: value]).readers(get: get)[provider])
    }

    func request(_ body: String, _ headers: [String: String] = [:], at time: Date? = nil) -> BounceWebhookRequest {
        BounceWebhookRequest(body: Array(body.utf8), headers: headers, receivedAt: time ?? now)
    }

    func refusal(_ work: () async throws -> [BounceWebhookEvent]) async -> BounceWebhookError? {
        do {
            _ = try await work()
            return nil
        } catch { return error as? BounceWebhookError }
    }

    @Test("a Message-ID Kuvert set names its message; a bounce address's tag, a forged or foreign one names none")
    func messageReferences() {
        let key = SymmetricKey(size: .bits256)
        let tags = MessageTags(purpose: "kuvert message-id v1", keys: [key])
        let tag = tags.tag(for: 42)
        #expect(tags.messageId(inReference: "<\(tag).0123456789abcdef@example.se>") == 42)
        #expect(tags.messageId(inReference: " \(tag.uppercased()).0123@EXAMPLE.SE ") == 42)
        #expect(tags.messageId(inReference: tag) == 42)
        let bounceTag = BounceAddresses(domain: "b.example.se", keys: [key]).address(for: 42).split(separator: "@")[0]
        for reference in [
            "<\(bounceTag).0123@example.se>", "<\(tag.dropLast())x.0123@example.se>", "<m43-\(tag.split(separator: "-")[1]).1@example.se>",
            "<0123456789abcdef@example.se>", "<>", "", "<\(tag)", String(repeating: "m", count: 10_000),
        ] {
            #expect(tags.messageId(inReference: reference) == nil, "\(reference.prefix(60))")
        }
        #expect(MessageTags(purpose: "kuvert message-id v1", keys: [SymmetricKey(size: .bits256), key]).messageId(inReference: tag) == 42)
    }

    @Test("SendGrid: its own published test vector verifies; a changed body, time, signature or key does not")
    func sendGridVector() async throws {
        // From sendgrid-nodejs, packages/eventwebhook/src/eventwebhook.spec.js (MIT licence).
        let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
        let signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
        let payload = #"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#
        let then = Date(timeIntervalSince1970: 1_588_788_367)
        let sendgrid = try reader(.sendgrid, key)
        let headers = [SendGridWebhook.signatureHeader: signature, SendGridWebhook.timestampHeader: "1588788367"]
        // Verified; an event that says nothing of bounces is no event.
        #expect(try await sendgrid.events(request(payload, headers, at: then)).isEmpty)
        var badTime = headers
        badTime[SendGridWebhook.timestampHeader] = "1588788368"
        var badSignature = headers
        badSignature[SendGridWebhook.signatureHeader] = signature.replacingOccurrences(of: "H2j", with: "H3j")
        let otherKey = try reader(.sendgrid, P256.Signing.PrivateKey().publicKey.derRepresentation.base64EncodedString())
        for (reader, request) in [
            (sendgrid, request(payload.replacingOccurrences(of: "test_event", with: "bounce"), headers, at: then)),
            (sendgrid, request(payload, badTime, at: then)), (sendgrid, request(payload, badSignature, at: then)),
            (otherKey, request(payload, headers, at: then)), (sendgrid, request(payload, [:], at: then)),
            // A genuine signature replayed two days later.
            (sendgrid, request(payload, headers, at: then.addingTimeInterval(2 * 86_400))),
        ] {
            guard case .unauthorized = await refusal({ try await reader.events(request) }) else {
                Issue.record("accepted: \(request.headers)")
                continue
            }
        }
    }

    @Test("SendGrid: bounces judged by status and words, blocks, drops, deferrals and spam reports; other events none")
    func sendGridEvents() async throws {
        let key = P256.Signing.PrivateKey()
        let sendgrid = try reader(.sendgrid, key.publicKey.derRepresentation.base64EncodedString())
        let body = """
            [
             {"email":"a@example.se","timestamp":1700000000,"smtp-id":"<a@example.se>","event":"bounce","sg_event_id":"e1",
              "sg_message_id":"x.1","reason":"550 5.1.1 The email account that you tried to reach does not exist","status":"5.1.1","type":"bounce",
              "kuvert_message":"m1-aaaaaaaaaaaaaaaa"},
             {"email":"b@example.se","timestamp":1700000000,"event":"bounce","sg_event_id":"e2","reason":"550 5.7.1 blocked by policy",
              "status":"5.7.1","type":"blocked","smtp-id":"<m2-bbbbbbbbbbbbbbbb.1@example.se>"},
             {"email":"c@example.se","timestamp":1700000000,"event":"dropped","sg_event_id":"e3","reason":"Bounced Address","status":"5.0.0"},
             {"email":"d@example.se","timestamp":1700000000,"event":"spamreport","sg_event_id":"e4","kuvert_message":"m4-dddddddddddddddd"},
             {"email":"e@example.se","timestamp":1700000000,"event":"deferred","sg_event_id":"e5","response":"400 try again later","attempt":"5"},
             {"email":"f@example.se","timestamp":1700000000,"event":"delivered","sg_event_id":"e6","response":"250 OK"},
             {"email":"g@example.se","timestamp":1700000000,"event":"open","sg_event_id":"e7"}
            ]
            """
        let timestamp = String(Int(now.timeIntervalSince1970))
        let signature = try key.signature(for: Data((timestamp + body).utf8)).derRepresentation.base64EncodedString()
        let events = try await sendgrid.events(
            request(body, [SendGridWebhook.signatureHeader: signature, SendGridWebhook.timestampHeader: timestamp])
        )
        #expect(events.map(\.kind) == [.hard, .policy, .hard, .complaint, .transient])
        #expect(events.map(\.key) == ["sendgrid:e1", "sendgrid:e2", "sendgrid:e3", "sendgrid:e4", "sendgrid:e5"])
        #expect(events.map(\.message) == ["m1-aaaaaaaaaaaaaaaa", "<m2-bbbbbbbbbbbbbbbb.1@example.se>", nil, "m4-dddddddddddddddd", nil])
        #expect(events[0].status == "5.1.1" && events[0].action == "bounce/bounce")
        // Signed, but not JSON events: 400.
        for bad in ["[1, 2]", "{", "[{\"email\":\"x@example.se\",\"event\":\"bounce\"}]"] {
            let signed = try key.signature(for: Data((timestamp + bad).utf8)).derRepresentation.base64EncodedString()
            let refused = await refusal {
                try await sendgrid.events(request(bad, [SendGridWebhook.signatureHeader: signed, SendGridWebhook.timestampHeader: timestamp]))
            }
            guard case .malformed = refused else {
                Issue.record("\(bad): \(String(describing: refused))")
                continue
            }
        }
    }

    /// A Mailgun POST signed as Mailgun signs: hex HMAC-SHA256 of timestamp and token under the signing key.
    func mailgunPost(_ eventData: String, key: String = secret, time: Date? = nil) -> String {
        let timestamp = String(Int((time ?? now).timeIntervalSince1970))
        let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
        let signature = HMAC<SHA256>.authenticationCode(for: Data((timestamp + token).utf8), using: SymmetricKey(data: Data(key.utf8)))
        return
            #"{"signature":{"timestamp":"\#(timestamp)","token":"\#(token)","signature":"\#(Array(signature).lowercaseHex)"},"event-data":\#(eventData)}"#
    }

    @Test("Mailgun: signed with the webhook signing key; failures by severity, code and words; complaints and suppressions")
    func mailgunEvents() async throws {
        let mailgun = try reader(.mailgun, Self.secret)
        let failed = """
            {"event":"failed","id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1700000000.1,"severity":"permanent","reason":"bounce",
             "recipient":"alice@example.se","delivery-status":{"code":550,"message":"5.1.1 The email account that you tried to reach does not exist.",
             "description":"","attempt-no":1},"message":{"headers":{"message-id":"m7-aaaaaaaaaaaaaaaa.1@example.se","subject":"Hello"}}}
            """
        let events = try await mailgun.events(request(mailgunPost(failed)))
        #expect(events.map(\.kind) == [.hard] && events[0].key == "mailgun:G9Bn5sl1TC6nu79C8C0bwg")
        #expect(events[0].message == "m7-aaaaaaaaaaaaaaaa.1@example.se" && events[0].action == "failed/permanent/bounce")
        let cases: [(String, BounceKind?)] = [
            (
                #"{"event":"failed","id":"2","severity":"temporary","reason":"generic","delivery-status":{"code":452,"message":"mailbox full"}}"#,
                .transient
            ),
            (#"{"event":"failed","id":"3","severity":"permanent","reason":"suppress-bounce","delivery-status":{"code":605}}"#, .hard),
            (
                #"{"event":"failed","id":"4","severity":"permanent","reason":"bounce","delivery-status":{"code":550,"message":"5.7.1 rejected by policy"}}"#,
                .policy
            ),
            (#"{"event":"complained","id":"5","recipient":"alice@example.se"}"#, .complaint),
            (#"{"event":"delivered","id":"6"}"#, nil),
        ]
        for (data, kind) in cases {
            #expect(try await mailgun.events(request(mailgunPost(data))).first?.kind == kind, "\(data)")
        }
        for body in [
            mailgunPost(failed, key: "another-key-of-sixteen-or-more"), mailgunPost(failed, time: now.addingTimeInterval(-2 * 86_400)), "{}",
            "nonsense",
        ] {
            guard case .unauthorized = await refusal({ try await mailgun.events(request(body)) }) else {
                Issue.record("accepted: \(body.prefix(80))")
                continue
            }
        }
        guard case .malformed = await refusal({ try await mailgun.events(request(mailgunPost(#"{"severity":"permanent"}"#))) }) else {
            Issue.record("an event without event or id was read")
            return
        }
    }

    func basic(_ credentials: String) -> [String: String] {
        ["authorization": "Basic " + Data(credentials.utf8).base64EncodedString()]
    }

    @Test("Postmark: Basic credentials; bounce types as its reference lists them, the reply deciding where it quotes one")
    func postmarkEvents() async throws {
        let credentials = "kuvert:\(Self.secret)"
        let postmark = try reader(.postmark, credentials)
        let hard = """
            {"RecordType":"Bounce","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,"Name":"Hard bounce","Tag":"",
             "MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"kuvert-message":"m9-aaaaaaaaaaaaaaaa"},"ServerID":23,
             "MessageStream":"outbound","Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",
             "Details":"smtp;550 5.1.1 The email account that you tried to reach does not exist.","Email":"john@example.com",
             "From":"sender@example.com","BouncedAt":"2023-10-12T15:18:29Z","DumpAvailable":false,"Inactive":true,"CanActivate":true,
             "Subject":"Test subject","Content":""}
            """
        let events = try await postmark.events(request(hard, basic(credentials)))
        #expect(
            events == [
                BounceWebhookEvent(
                    key: "postmark:Bounce:4323372036854775807",
                    message: "m9-aaaaaaaaaaaaaaaa",
                    kind: .hard,
                    status: nil,
                    action: "HardBounce",
                    diagnostic: "smtp;550 5.1.1 The email account that you tried to reach does not exist."
                )
            ]
        )
        let cases: [(String, BounceKind?)] = [
            (#"{"RecordType":"SpamComplaint","ID":1,"Type":"SpamComplaint","TypeCode":512,"Metadata":{}}"#, .complaint),
            (#"{"RecordType":"Bounce","ID":2,"Type":"SoftBounce","Details":"smtp;552 5.2.2 mailbox full"}"#, .soft),
            (#"{"RecordType":"Bounce","ID":3,"Type":"Transient","Details":"smtp;421 try later"}"#, .transient),
            (#"{"RecordType":"Bounce","ID":4,"Type":"Blocked","Details":"smtp;554 5.7.1 spam content"}"#, .policy),
            (#"{"RecordType":"Bounce","ID":5,"Type":"AutoResponder","Details":"Out of office"}"#, .autoReply),
            (#"{"RecordType":"Bounce","ID":6,"Type":"ManuallyDeactivated"}"#, .ignored),
            (#"{"RecordType":"Delivery","ID":7}"#, nil),
        ]
        for (body, kind) in cases {
            #expect(try await postmark.events(request(body, basic(credentials))).first?.kind == kind, "\(body)")
        }
        for headers in [[:], basic("kuvert:wrong-password-of-length"), ["authorization": "Bearer \(Self.secret)"], basic(credentials + "x")] {
            guard case .unauthorized = await refusal({ try await postmark.events(request(hard, headers)) }) else {
                Issue.record("accepted: \(headers)")
                continue
            }
        }
        guard case .malformed = await refusal({ try await postmark.events(request("[]", basic(credentials))) }) else {
            Issue.record("an array was read as a record")
            return
        }
    }

    @Test("Brevo: Basic credentials or a bearer token; its event names, batched or one at a time")
    func brevoEvents() async throws {
        let brevo = try reader(.brevo, Self.secret)
        let body = """
            [{"event":"hard_bounce","email":"example@domain.com","id":26224,"date":"2023-10-02 15:30:00","ts":1696253400,
              "message-id":"<m5-aaaaaaaaaaaaaaaa.0123@example.se>","ts_event":1696253400,"subject":"My first Transactional",
              "tag":"","sending_ip":"185.41.28.109","ts_epoch":1696253400000,"reason":"550 5.1.1 user unknown"},
             {"event":"soft_bounce","email":"b@example.se","id":26224,"message-id":"<b@x>","ts_event":1696253401,"reason":"mailbox full"},
             {"event":"spam","email":"c@example.se","id":26224,"message-id":"<c@x>","ts_event":1696253402},
             {"event":"blocked","email":"d@example.se","id":26224,"message-id":"<d@x>","ts_event":1696253403},
             {"event":"deferred","email":"e@example.se","id":26224,"message-id":"<e@x>","ts_event":1696253404},
             {"event":"delivered","email":"f@example.se","id":26224,"message-id":"<f@x>","ts_event":1696253405}]
            """
        let events = try await brevo.events(request(body, ["authorization": "Bearer \(Self.secret)"]))
        #expect(events.map(\.kind) == [.hard, .soft, .complaint, .policy, .transient])
        #expect(events[0].message == "<m5-aaaaaaaaaaaaaaaa.0123@example.se>" && Set(events.map(\.key)).count == 5)
        // The same event again has the same key.
        #expect(try await brevo.events(request(body, ["authorization": "Bearer \(Self.secret)"])).map(\.key) == events.map(\.key))
        let basicBrevo = try reader(.brevo, "kuvert:\(Self.secret)")
        #expect(try await basicBrevo.events(request(body, basic("kuvert:\(Self.secret)"))).count == 5)
        guard case .unauthorized = await refusal({ try await basicBrevo.events(request(body, ["authorization": "Bearer \(Self.secret)"])) }) else {
            Issue.record("a bearer token opened a Basic webhook")
            return
        }
    }

    @Test("Mailjet: Basic credentials; bounces by hard_bounce and error, blocks, spam; grouped events")
    func mailjetEvents() async throws {
        let credentials = "kuvert:\(Self.secret)"
        let mailjet = try reader(.mailjet, credentials)
        let body = """
            [{"event":"bounce","time":1430812195,"MessageID":13792286917004336,"Message_GUID":"1ab23cd4-e567-8901-2345-6789f0gh1i2j",
              "email":"bounce@mailjet.com","mj_campaign_id":0,"mj_contact_id":0,"customcampaign":"","CustomID":"m3-aaaaaaaaaaaaaaaa",
              "Payload":"","blocked":false,"hard_bounce":true,"error_related_to":"recipient","error":"user unknown"},
             {"event":"bounce","time":1430812196,"MessageID":2,"email":"b@example.se","CustomID":"","blocked":false,"hard_bounce":false,
              "error_related_to":"recipient","error":"mailbox inactive"},
             {"event":"blocked","time":1430812197,"MessageID":3,"email":"c@example.se","error_related_to":"recipient","error":"preblocked"},
             {"event":"blocked","time":1430812198,"MessageID":4,"email":"d@example.se","error_related_to":"content","error":"content blocked"},
             {"event":"spam","time":1430812199,"MessageID":5,"email":"e@example.se","source":"JMRPP"},
             {"event":"sent","time":1430812200,"MessageID":6,"email":"f@example.se"}]
            """
        let events = try await mailjet.events(request(body, basic(credentials)))
        #expect(events.map(\.kind) == [.hard, .transient, .hard, .policy, .complaint])
        #expect(events[0].message == "m3-aaaaaaaaaaaaaaaa" && events[0].diagnostic == "user unknown" && events[1].message == nil)
        guard case .unauthorized = await refusal({ try await mailjet.events(request(body)) }) else {
            Issue.record("accepted without credentials")
            return
        }
    }

    @Test("configuration: each variable's value is checked at start with a line that says what it must be")
    func configuration() {
        let wrong: [(BounceWebhookProvider, String)] = [
            (.ses, "not-an-arn"), (.ses, "arn:aws:sns:eu-north-1:12345:topic"), (.mailgun, "short"), (.sendgrid, "bm90IGEga2V5"),
            (.postmark, "kuvert:short"), (.mailjet, "kuvert:with space in the password"),
        ]
        for (provider, value) in wrong {
            #expect(throws: KuvertError.self, "\(provider): \(value)") { _ = try BounceWebhookSettings([provider: value]).readers() }
        }
        #expect(throws: Never.self) {
            _ = try BounceWebhookSettings([.ses: "arn:aws:sns:eu-north-1:123456789012:a, arn:aws-cn:sns:cn-north-1:123456789012:b"]).readers()
        }
    }
}
