import Foundation

/// How to reach the SMTP server.
public struct SMTPSettings: Sendable, Equatable {
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port` (TLS
    /// from the start); with an EHLO name, libcurl's form `smtp://host:port/name`.
    public var url: String
    public var username: String?
    public var password: String?
    /// Refuse to send unless STARTTLS succeeds on `smtp://`.
    public var requireTLS: Bool
    /// A PEM file of CAs to trust instead of the system's (a private relay's CA).
    public var caFile: String?
    /// A pinned public key: `sha256//BASE64` or a PEM/DER file (`CURLOPT_PINNEDPUBLICKEY`).
    public var pinnedPublicKey: String?
    public var connectTimeout: TimeInterval
    /// The longest one message may take, from connecting to the last reply.
    public var transferTimeout: TimeInterval

    public init(
        url: String, username: String? = nil, password: String? = nil, requireTLS: Bool = false, caFile: String? = nil,
        pinnedPublicKey: String? = nil, connectTimeout: TimeInterval = 10, transferTimeout: TimeInterval = 60
    ) {
        self.url = url
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
        self.caFile = caFile
        self.pinnedPublicKey = pinnedPublicKey
        self.connectTimeout = connectTimeout
        self.transferTimeout = transferTimeout
    }

    /// True when the session is encrypted before anything but EHLO is said.
    public var tlsIsCertain: Bool { url.hasPrefix("smtps://") || requireTLS }

    /// The settings of a configuration.
    /// - Throws: `KuvertError.configuration` for a URL that is not `smtp://` or
    ///   `smtps://`, or an EHLO name that is no host name.
    public init(_ configuration: Configuration) throws {
        guard let parsed = URL(string: configuration.smtpURL), ["smtp", "smtps"].contains(parsed.scheme ?? ""),
              parsed.host != nil
        else {
            throw KuvertError.configuration(
                "KUVERT_SMTP_URL must look like smtp://host:port or smtps://host:port, not '\(configuration.smtpURL)'.")
        }
        var url = configuration.smtpURL
        if let ehlo = configuration.smtpEHLO {
            guard parsed.path.isEmpty || parsed.path == "/" else {
                throw KuvertError.configuration(
                    "KUVERT_SMTP_EHLO and an EHLO name in KUVERT_SMTP_URL's path ('\(parsed.path)') cannot both be set.")
            }
            // libcurl says EHLO with the URL's path.
            url = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/" + ehlo
        }
        self.init(
            url: url, username: configuration.smtpUser, password: configuration.smtpPassword,
            requireTLS: configuration.smtpRequireTLS, caFile: configuration.smtpCAFile,
            pinnedPublicKey: configuration.smtpPinnedKey)
    }
}
