import Foundation

/// What an SES notification says (the `Message` of an SNS notification):
/// `Bounce` and `Complaint`, by `notificationType` (identity notifications)
/// or `eventType` (configuration set event publishing).
enum SESNotification {
    struct Notification: Decodable {
        var notificationType: String?
        var eventType: String?
        var bounce: Bounce?
        var complaint: Complaint?
        var mail: Mail?
    }

    struct Bounce: Decodable {
        var bounceType: String?
        var bounceSubType: String?
        var bouncedRecipients: [Recipient]?
        var feedbackId: String?
    }

    struct Recipient: Decodable {
        var status: String?
        var diagnosticCode: String?
        var action: String?
    }

    struct Complaint: Decodable {
        var complaintFeedbackType: String?
        var complaintSubType: String?
        var feedbackId: String?
    }

    struct Mail: Decodable {
        var commonHeaders: CommonHeaders?
        var headers: [Header]?
    }

    struct CommonHeaders: Decodable {
        var messageId: String?
    }

    struct Header: Decodable {
        var name: String
        var value: String
    }

    /// The bounce or complaint `message` reports; none for other notifications.
    /// - Parameter messageId: the SNS message's id, the key when SES gives no feedback id.
    static func events(_ message: Data, messageId: String) throws(BounceWebhookError) -> [BounceWebhookEvent] {
        let notification: Notification
        do { notification = try JSONDecoder().decode(Notification.self, from: message) } catch {
            throw .malformed("The SNS notification's Message is not an SES notification.")
        }
        let header = notification.mail?.headers?.first { $0.name.lowercased() == "message-id" }?.value
        let reference = notification.mail?.commonHeaders?.messageId ?? header
        switch notification.notificationType ?? notification.eventType {
        case "Bounce":
            guard let bounce = notification.bounce else { throw .malformed("An SES bounce notification has a bounce.") }
            let type = bounce.bounceType ?? "Undetermined"
            let subType = bounce.bounceSubType ?? "General"
            // One recipient a message: the most serious one if SES names several.
            let judged = (bounce.bouncedRecipients ?? [Recipient()]).map { recipient in
                (recipient, SESNotification.kind(type: type, subType: subType, recipient))
            }
            let (recipient, kind): (Recipient, BounceKind) = judged.max { severity($0.1) < severity($1.1) } ?? (Recipient(), .ignored)
            return [
                BounceWebhookEvent(
                    key: "ses:\(bounce.feedbackId ?? messageId)",
                    message: reference,
                    kind: kind,
                    status: recipient.status.flatMap { BounceReport.statusCode(in: $0) },
                    action: "Bounce/\(type)/\(subType)",
                    diagnostic: recipient.diagnosticCode
                )
            ]
        case "Complaint":
            guard let complaint = notification.complaint else { throw .malformed("An SES complaint notification has a complaint.") }
            // RFC 5965's types: abuse and fraud are a person's word; SES gives none for many providers' loops.
            let type = complaint.complaintFeedbackType
            let kind: BounceKind = type == nil || BounceReport.complaintTypes.contains(type!.lowercased()) ? .complaint : .ignored
            return [
                BounceWebhookEvent(
                    key: "ses:\(complaint.feedbackId ?? messageId)",
                    message: reference,
                    kind: kind,
                    status: nil,
                    action: ["Complaint", type, complaint.complaintSubType].compactMap(\.self).joined(separator: "/"),
                    diagnostic: nil
                )
            ]
        default:
            return []
        }
    }

    /// SES's bounce types and subtypes (its notification contents reference),
    /// with the recipient's status code and words deciding where it gives them.
    static func kind(type: String, subType: String, _ recipient: Recipient) -> BounceKind {
        switch (type, subType) {
        case ("Transient", _): return .transient
        // Not sent: SES's suppression lists hold the address after a hard bounce or complaint.
        case ("Permanent", "Suppressed"), ("Permanent", "OnAccountSuppressionList"): return .hard
        case ("Permanent", "NoEmail"):
            return BounceWebhookEvent.kind(status: recipient.status, diagnostic: recipient.diagnosticCode, otherwise: .hard)
        case ("Permanent", "ContentRejected"), ("Permanent", "AttachmentRejected"), ("Permanent", "MessageTooLarge"):
            return BounceWebhookEvent.kind(status: recipient.status, diagnostic: recipient.diagnosticCode, otherwise: .policy)
        case ("Permanent", _):
            return BounceWebhookEvent.kind(status: recipient.status, diagnostic: recipient.diagnosticCode, otherwise: .soft)
        default:
            return BounceWebhookEvent.kind(status: recipient.status, diagnostic: recipient.diagnosticCode, otherwise: .ignored)
        }
    }

    /// How much a kind changes: the most serious recipient decides.
    static func severity(_ kind: BounceKind) -> Int {
        switch kind {
        case .complaint: 6
        case .hard: 5
        case .soft: 4
        case .policy: 3
        case .transient: 2
        case .autoReply: 1
        case .ignored: 0
        }
    }
}
