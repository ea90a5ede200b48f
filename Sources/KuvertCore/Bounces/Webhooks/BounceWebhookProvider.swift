import Foundation

/// The sending services whose bounce and complaint webhooks Kuvert takes, at
/// `POST /webhooks/bounces/{provider}`, each configured by
/// `KUVERT_BOUNCE_WEBHOOK_<PROVIDER>`.
public enum BounceWebhookProvider: String, Sendable, CaseIterable, Codable {
    case ses
    case postmark
    case mailgun
    case sendgrid
    case brevo
    case mailjet

    /// The variable that configures it.
    public var variable: String { "KUVERT_BOUNCE_WEBHOOK_\(rawValue.uppercased())" }

    /// The service's name as its users know it.
    public var name: String {
        switch self {
        case .ses: "Amazon SES"
        case .postmark: "Postmark"
        case .mailgun: "Mailgun"
        case .sendgrid: "SendGrid"
        case .brevo: "Brevo"
        case .mailjet: "Mailjet"
        }
    }

    /// A header Kuvert adds to each message, carrying its tag, for services
    /// that echo a header of the message in their events but not (in every
    /// event) its Message-ID: Postmark's metadata, SendGrid's unique
    /// arguments, Mailjet's custom ID. The others echo the Message-ID Kuvert sets.
    public func echoHeader(tag: String) -> (name: String, value: String)? {
        switch self {
        case .postmark: ("X-PM-Metadata-kuvert-message", tag)
        case .sendgrid: ("X-SMTPAPI", #"{"unique_args":{"kuvert_message":"\#(tag)"}}"#)
        case .mailjet: ("X-MJ-CustomID", tag)
        case .ses, .mailgun, .brevo: nil
        }
    }
}

/// One POST to a bounce webhook, as the web layer hands it over.
public struct BounceWebhookRequest: Sendable {
    public var body: [UInt8]
    /// Header fields by lower-case name; a repeated field keeps its first value.
    public var headers: [String: String]
    public var receivedAt: Date

    public init(body: [UInt8], headers: [String: String], receivedAt: Date = Date()) {
        self.body = body
        self.headers = headers
        self.receivedAt = receivedAt
    }

    /// The body as JSON of type `T`.
    /// - Throws: `BounceWebhookError.malformed` when it is not.
    func decode<T: Decodable>(_ type: T.Type, _ provider: BounceWebhookProvider) throws(BounceWebhookError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw .malformed("The body is not \(provider.name)'s event JSON.")
        }
    }
}

/// One event a service reported, read and judged: about which message, what
/// it says, and its name for duplicates.
public struct BounceWebhookEvent: Sendable, Equatable {
    /// The service's own name of the event (`provider:id`), so a retried
    /// delivery is stored once.
    public var key: String
    /// How the event names Kuvert's message: the Message-ID Kuvert set, or the
    /// tag of an echoed header; nil when it names none.
    public var message: String?
    public var kind: BounceKind
    /// The RFC 3463 status code, when the service gives one.
    public var status: String?
    /// The service's name of what happened (`Bounce/Permanent/General`, `spamreport` …).
    public var action: String?
    /// The remote server's reply or the service's description; one line, 300 characters at most.
    public var diagnostic: String?

    public init(key: String, message: String?, kind: BounceKind, status: String?, action: String?, diagnostic: String?) {
        self.key = String(key.prefix(300))
        self.message = message
        self.kind = kind
        self.status = status
        self.action = action.map { String($0.prefix(100)) }
        self.diagnostic = diagnostic.map(Self.oneLine)
    }

    static func oneLine(_ text: String) -> String {
        String(text.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(300))
    }

    /// The status code in a reply such as `smtp; 550 5.1.1 user unknown`, if any.
    static func status(in text: String?) -> String? {
        text.flatMap { text in text.split(separator: " ").lazy.compactMap { BounceReport.statusCode(in: String($0)) }.first }
    }
}

/// Why a POST to a bounce webhook was refused.
public enum BounceWebhookError: Error, Sendable, Equatable {
    /// No `KUVERT_BOUNCE_WEBHOOK_<PROVIDER>` for this service (or no such service).
    case notConfigured(String)
    /// The credentials or signature are missing or wrong.
    case unauthorized(String)
    /// The body is not the service's format.
    case malformed(String)
    /// A check the service asks of us could not be made now (SES's signing
    /// certificate could not be fetched): the service retries.
    case unavailable(String)
}

/// Reads one service's POSTs: checks its authentication, then reads its events.
public protocol BounceWebhookReader: Sendable {
    /// The events in `request`, judged by `BouncePolicy`; none for events that
    /// say nothing of bounces or complaints (deliveries, opens, clicks).
    /// - Throws: `BounceWebhookError`: unauthorized before anything is read.
    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent]
}
