import Crypto
import Foundation

/// `KUVERT_BOUNCE_WEBHOOK_<PROVIDER>`: which sending services may report
/// bounces and complaints by webhook, and how each proves it is that service.
///
/// | variable | value |
/// | --- | --- |
/// | `…_SES` | the SNS topic ARNs whose notifications are taken, comma-separated |
/// | `…_MAILGUN` | the HTTP webhook signing key |
/// | `…_SENDGRID` | the signed event webhook's verification key (base64) |
/// | `…_POSTMARK`, `…_BREVO`, `…_MAILJET` | `user:password` put in the webhook's URL (Brevo: or a bearer token) |
public struct BounceWebhookSettings: Sendable, Equatable {
    /// The configured value of each service's variable, as given.
    public var values: [BounceWebhookProvider: String]

    public init(_ values: [BounceWebhookProvider: String] = [:]) {
        self.values = values
    }

    /// The shortest key or password taken: a shorter one could be guessed.
    public static let minimumSecretLength = 16

    /// The services `source` configures.
    /// - Throws: `KuvertError.configuration` naming the variable whose value cannot be right.
    public init(_ source: SettingSource) throws {
        var values: [BounceWebhookProvider: String] = [:]
        for provider in BounceWebhookProvider.allCases {
            guard let value = source.string(provider.variable) else { continue }
            _ = try Self.reader(provider, value, get: HTTPSGet())
            values[provider] = value
        }
        self.values = values
    }

    /// The reader of each configured service's POSTs.
    /// - Parameter get: how SES's certificates and confirmations are fetched (tests: their own host and CA).
    public func readers(get: HTTPSGet = HTTPSGet()) throws -> [BounceWebhookProvider: any BounceWebhookReader] {
        try values.reduce(into: [:]) { readers, entry in readers[entry.key] = try Self.reader(entry.key, entry.value, get: get) }
    }

    static func reader(_ provider: BounceWebhookProvider, _ value: String, get: HTTPSGet) throws -> any BounceWebhookReader {
        let value = value.trimmingCharacters(in: .whitespaces)
        switch provider {
        case .ses:
            let topics = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !topics.isEmpty, topics.allSatisfy(Self.isTopic) else {
                throw KuvertError.configuration(
                    "\(provider.variable) must name the SNS topics SES notifies, such as arn:aws:sns:eu-north-1:123456789012:kuvert-bounces, comma-separated."
                )
            }
            return SESWebhook(topics: Set(topics), get: get)
        case .mailgun:
            try Self.checkLength(provider, value, "Mailgun's HTTP webhook signing key")
            return MailgunWebhook(signingKey: SymmetricKey(data: Data(value.utf8)))
        case .sendgrid:
            guard let der = Data(base64Encoded: value), let key = try? P256.Signing.PublicKey(derRepresentation: der) else {
                throw KuvertError.configuration(
                    "\(provider.variable) must be the verification key SendGrid shows for its signed event webhook (base64, starting MFkw…)."
                )
            }
            return SendGridWebhook(key: key)
        case .postmark, .brevo, .mailjet:
            try Self.checkLength(provider, value, "user:password, the credentials in the webhook's URL,")
            return switch provider {
            case .postmark: PostmarkWebhook(credentials: WebhookCredentials(value))
            case .brevo: BrevoWebhook(credentials: WebhookCredentials(value))
            default: MailjetWebhook(credentials: WebhookCredentials(value))
            }
        }
    }

    private static func checkLength(_ provider: BounceWebhookProvider, _ value: String, _ what: String) throws {
        let secret = value.split(separator: ":", maxSplits: 1).last.map(String.init) ?? value
        guard secret.count >= minimumSecretLength, !value.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw KuvertError.configuration(
                "\(provider.variable) must be \(what) with a secret of at least \(minimumSecretLength) characters (openssl rand -hex 16 makes one)."
            )
        }
    }

    /// `arn:aws:sns:REGION:ACCOUNT:NAME` (or another AWS partition's).
    static func isTopic(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && parts[2] == "sns"
            && !parts[3].isEmpty && parts[4].count == 12 && parts[4].allSatisfy(\.isNumber) && !parts[5].isEmpty
    }
}
