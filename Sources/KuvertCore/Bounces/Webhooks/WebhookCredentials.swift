import Crypto
import Foundation

/// The credentials Postmark, Brevo and Mailjet send with each POST, as their
/// webhook settings take them: `user:password` in the webhook URL, which
/// arrives as `Authorization: Basic`, or (Brevo) a token sent as
/// `Authorization: Bearer`. Compared in constant time, length included.
struct WebhookCredentials: Sendable {
    /// The `Authorization` value expected, hashed.
    private let expected: SHA256.Digest

    /// - Parameter value: `user:password` for Basic, any other text a bearer token.
    init(_ value: String) {
        let header = value.contains(":") ? "Basic " + Data(value.utf8).base64EncodedString() : "Bearer " + value
        expected = SHA256.hash(data: Data(header.utf8))
    }

    /// - Throws: `BounceWebhookError.unauthorized` unless `request` carries them.
    func check(_ request: BounceWebhookRequest, _ provider: BounceWebhookProvider) throws(BounceWebhookError) {
        guard let given = request.headers["authorization"] else {
            throw .unauthorized("\(provider.name) webhooks need the credentials of \(provider.variable) (user:password in the webhook's URL).")
        }
        // Equal digests of equal-length texts: nothing about the expected value leaks through timing.
        var difference: UInt8 = 0
        for (a, b) in zip(SHA256.hash(data: Data(given.utf8)), expected) { difference |= a ^ b }
        guard difference == 0 else { throw .unauthorized("The credentials are not those of \(provider.variable).") }
    }
}

extension BounceWebhookEvent {
    /// What a failure a service reported says, judged as a report by mail
    /// would be: by its status code and words (`BouncePolicy.kind(status:diagnostic:)`)
    /// where the service gives a code or the reply carries one; else by the
    /// reply's words (`BounceText`); else `otherwise`, the service's own class.
    static func kind(status: String?, diagnostic: String?, otherwise: BounceKind) -> BounceKind {
        if let code = status.flatMap({ BounceReport.statusCode(in: $0) }) ?? diagnostic.flatMap(BounceProse.statusCode(in:)) {
            return BouncePolicy.kind(status: code, diagnostic: diagnostic)
        }
        return diagnostic.flatMap(BounceText.phrase(in:))?.kind ?? otherwise
    }

    /// A key for services whose events carry no id of their own: a hash of what makes one event.
    static func key(_ provider: BounceWebhookProvider, _ parts: [String?]) -> String {
        let joined = parts.map { $0 ?? "" }.joined(separator: "\u{1F}")
        return "\(provider.rawValue):" + SHA256.hash(data: Data(joined.utf8)).prefix(16).lowercaseHex
    }
}
