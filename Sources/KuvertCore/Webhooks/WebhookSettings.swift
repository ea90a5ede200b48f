import Foundation

/// Where Kuvert reports subscription changes, and the secret it signs them with.
public struct WebhookSettings: Sendable, Equatable {
    /// `KUVERT_WEBHOOK_URL`: an `http` or `https` URL that takes a POST.
    public var url: String
    /// `KUVERT_WEBHOOK_SECRET`: the HMAC key of `Kuvert-Signature`, shared with the receiver.
    public var secret: String

    /// The shortest secret accepted: a shorter one could be guessed.
    public static let minimumSecretLength = 16

    public init(url: String, secret: String) {
        self.url = url
        self.secret = secret
    }

    /// The webhook `source` sets, or nil when `KUVERT_WEBHOOK_URL` is unset.
    /// - Throws: `KuvertError.configuration` for a URL that is not http(s), or
    ///   a missing or short secret.
    public static func from(_ source: SettingSource) throws -> WebhookSettings? {
        let secret = source.string("KUVERT_WEBHOOK_SECRET")
        guard let url = source.string("KUVERT_WEBHOOK_URL") else {
            if secret != nil { throw KuvertError.configuration("KUVERT_WEBHOOK_SECRET is set but KUVERT_WEBHOOK_URL is not: set both, or neither.") }
            return nil
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
            parsed.host?.isEmpty == false, !url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F })
        else {
            throw KuvertError.configuration(
                "KUVERT_WEBHOOK_URL must be an http:// or https:// URL such as https://crm.example.se/kuvert, not '\(SettingSource.shownURL(url))'."
            )
        }
        guard let secret, secret.count >= minimumSecretLength else {
            throw KuvertError.configuration(
                "KUVERT_WEBHOOK_SECRET must be set to at least \(minimumSecretLength) characters with KUVERT_WEBHOOK_URL (openssl rand -hex 32 makes one)."
            )
        }
        return WebhookSettings(url: url, secret: secret)
    }
}
