import Foundation
import KuvertTestSupport
import Testing

@testable import KuvertCore

/// SES through SNS, against a stand-in SNS host over real https: messages
/// signed as SNS signs them (RSA over the documented canonical text, SHA-1 for
/// signature version 1, SHA-256 for 2), the signing certificate fetched by
/// libcurl from the host the message names, subscriptions confirmed there.
@Suite("Bounce webhooks: Amazon SES through SNS, over https", .serialized)
struct SESWebhookTests {
    static let topic = SNSStandIn.topic

    func reader(_ sns: SNSStandIn) throws -> any BounceWebhookReader {
        try #require(try BounceWebhookSettings([.ses: Self.topic]).readers(get: HTTPSGet(caFile: sns.caFile, connectTo: sns.connectTo))[.ses])
    }

    func refusal(_ work: () async throws -> [BounceWebhookEvent]) async -> BounceWebhookError? {
        do {
            _ = try await work()
            return nil
        } catch { return error as? BounceWebhookError }
    }

    func request(_ body: String) -> BounceWebhookRequest {
        BounceWebhookRequest(body: Array(body.utf8), headers: ["x-amz-sns-message-type": "Notification"])
    }

    @Test("signature versions 1 and 2 verify against the certificate fetched from the SNS host; bounces and complaints are read")
    func notifications() async throws {
        let sns = try SNSStandIn()
        let ses = try reader(sns)
        let reference = "<m12-aaaaaaaaaaaaaaaa.0123@example.se>"
        let cases: [(String, BounceKind)] = [
            (
                SNSStandIn.sesBounce(
                    type: "Permanent",
                    subType: "General",
                    status: "5.1.1",
                    diagnostic: "smtp; 550 5.1.1 user unknown",
                    messageId: reference
                ), .hard
            ),
            (SNSStandIn.sesBounce(type: "Permanent", subType: "NoEmail", status: nil, diagnostic: nil, messageId: reference), .hard),
            (
                SNSStandIn.sesBounce(
                    type: "Permanent",
                    subType: "General",
                    status: "5.7.1",
                    diagnostic: "smtp; 554 5.7.1 rejected by policy",
                    messageId: reference
                ), .policy
            ),
            (
                SNSStandIn.sesBounce(
                    type: "Permanent",
                    subType: "Suppressed",
                    status: "5.1.1",
                    diagnostic: "Amazon SES has suppressed sending",
                    messageId: reference
                ), .hard
            ),
            (
                SNSStandIn.sesBounce(
                    type: "Transient",
                    subType: "MailboxFull",
                    status: "5.2.2",
                    diagnostic: "smtp; 552 5.2.2 mailbox full",
                    messageId: reference
                ), .transient
            ),
            (SNSStandIn.sesBounce(type: "Undetermined", subType: "Undetermined", status: nil, diagnostic: nil, messageId: reference), .ignored),
            (SNSStandIn.sesComplaint("abuse", messageId: reference), .complaint),
            (SNSStandIn.sesComplaint(nil, messageId: reference), .complaint),
            (SNSStandIn.sesComplaint("auth-failure", messageId: reference), .ignored),
            (SNSStandIn.sesComplaint("not-spam", messageId: reference), .ignored),
        ]
        for (index, (message, kind)) in cases.enumerated() {
            let events = try await ses.events(request(try sns.envelope(message: message, version: index % 2 + 1)))
            #expect(events.map(\.kind) == [kind], "\(message.prefix(120))")
            #expect(events.first?.message == reference && events.first?.key.hasPrefix("ses:0102017f-") == true)
        }
        // One fetch of the certificate serves every message.
        #expect(sns.requests() == ["/SimpleNotificationService-kuvert-test.pem"])
        // A delivery notification is no event.
        let delivery = #"{"notificationType":"Delivery","mail":{"commonHeaders":{"messageId":"<x@y>"}},"delivery":{}}"#
        #expect(try await ses.events(request(try sns.envelope(message: delivery))).isEmpty)
    }

    @Test("a changed field, another topic, or a certificate from anywhere but an SNS host over https: 401, and nothing is fetched from elsewhere")
    func forgeries() async throws {
        let sns = try SNSStandIn()
        let ses = try reader(sns)
        let message = SNSStandIn.sesBounce(
            type: "Permanent",
            subType: "General",
            status: "5.1.1",
            diagnostic: nil,
            messageId: "<m1-aaaaaaaaaaaaaaaa.1@x>"
        )
        let forged: [String] = [
            try sns.envelope(message: message) { $0["Message"] = message.replacingOccurrences(of: "m1-", with: "m2-") },
            try sns.envelope(message: message) { $0["Timestamp"] = "2026-12-07T06:00:01.000Z" },
            try sns.envelope(message: message) { $0["SignatureVersion"] = "2" },
            try sns.envelope(message: message) { $0["Signature"] = "not base64!" },
            try sns.envelope(message: message, topic: "arn:aws:sns:eu-north-1:210987654321:someone-elses"),
            try sns.envelope(message: message, certificateURL: "http://\(SNSStandIn.host)/SimpleNotificationService-kuvert-test.pem"),
            try sns.envelope(message: message, certificateURL: "https://sns.eu-north-1.amazonaws.com.evil.example/cert.pem"),
            try sns.envelope(message: message, certificateURL: "https://evil.example/sns.eu-north-1.amazonaws.com/cert.pem"),
            try sns.envelope(message: message, certificateURL: "https://sns.eu-north-1.amazonaws.com:8443/cert.pem"),
            try sns.envelope(message: message, certificateURL: "https://user@sns.eu-north-1.amazonaws.com/cert.pem"),
            "{}", "not json",
        ]
        for body in forged {
            let refused = await refusal { try await ses.events(request(body)) }
            guard case .unauthorized = refused else {
                Issue.record("\(String(describing: refused)): \(body.prefix(160))")
                continue
            }
        }
        #expect(sns.requests().allSatisfy { $0 == "/SimpleNotificationService-kuvert-test.pem" }, "\(sns.requests())")
    }

    @Test("a subscription confirmation of a configured topic is confirmed at the SNS host; another topic's is not")
    func subscription() async throws {
        let sns = try SNSStandIn()
        let ses = try reader(sns)
        #expect(try await ses.events(request(try sns.envelope(type: "SubscriptionConfirmation", message: "You have chosen to subscribe"))).isEmpty)
        #expect(sns.requests().contains { $0.hasPrefix("/?Action=ConfirmSubscription&TopicArn=\(Self.topic)&Token=") }, "\(sns.requests())")
        let other = try sns.envelope(
            type: "SubscriptionConfirmation",
            message: "You have chosen to subscribe",
            topic: "arn:aws:sns:eu-north-1:210987654321:someone-elses"
        )
        let before = sns.requests().count
        await #expect(throws: BounceWebhookError.self) { try await ses.events(request(other)) }
        #expect(sns.requests().count == before)
        // The host down: 503 for SNS to try again, not 401.
        sns.stop()
        let fresh = try reader(sns)
        let body = try sns.envelope(message: SNSStandIn.sesComplaint("abuse", messageId: "<x@y>"))
        let refused = await refusal { try await fresh.events(request(body)) }
        guard case .unavailable = refused else {
            Issue.record("\(String(describing: refused))")
            return
        }
    }
}
