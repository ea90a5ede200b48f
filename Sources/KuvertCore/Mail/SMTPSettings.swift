import Foundation

/// How to reach the SMTP server.
public struct SMTPSettings: Sendable, Equatable {
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port` (TLS from the start).
    public var url: String
    public var username: String?
    public var password: String?
    /// Refuse to send unless STARTTLS succeeds on `smtp://`.
    public var requireTLS: Bool
    public var connectTimeout: TimeInterval
    /// The longest one message may take, from connecting to the last reply.
    public var transferTimeout: TimeInterval

    public init(
        url: String, username: String? = nil, password: String? = nil, requireTLS: Bool = false,
        connectTimeout: TimeInterval = 10, transferTimeout: TimeInterval = 60
    ) {
        self.url = url
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
        self.connectTimeout = connectTimeout
        self.transferTimeout = transferTimeout
    }

    /// The settings of a configuration.
    /// - Throws: `KuvertError.configuration` for a URL that is not `smtp://` or `smtps://`.
    public init(_ configuration: Configuration) throws {
        guard let url = URL(string: configuration.smtpURL), ["smtp", "smtps"].contains(url.scheme ?? ""),
              url.host != nil
        else {
            throw KuvertError.configuration(
                "KUVERT_SMTP_URL must look like smtp://host:port or smtps://host:port, not '\(configuration.smtpURL)'.")
        }
        self.init(
            url: configuration.smtpURL, username: configuration.smtpUser, password: configuration.smtpPassword,
            requireTLS: configuration.smtpRequireTLS)
    }
}
