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
        url: String,
        username: String? = nil,
        password: String? = nil,
        requireTLS: Bool = false,
        caFile: String? = nil,
        pinnedPublicKey: String? = nil,
        connectTimeout: TimeInterval = 10,
        transferTimeout: TimeInterval = 60
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

    /// The settings read from `KUVERT_SMTP_*`.
    /// - Throws: `KuvertError.configuration` for a URL that is not `smtp://` or
    ///   `smtps://`, an EHLO name that is no host name, or a CA file that cannot be read.
    public init(_ source: SettingSource) throws {
        let given = source.string("KUVERT_SMTP_URL") ?? "smtp://127.0.0.1:2525"
        guard var components = URLComponents(string: given), ["smtp", "smtps"].contains(components.scheme ?? ""),
            components.host?.isEmpty == false, let parsed = URL(string: given)
        else {
            throw KuvertError.configuration(
                "KUVERT_SMTP_URL must look like smtp://host:port or smtps://host:port, not '\(SettingSource.shownURL(given))'."
            )
        }
        // Credentials in the URL are credentials like KUVERT_SMTP_USER and
        // _PASSWORD (TLS required), taken out of the URL so that it can be shown.
        var username = source.string("KUVERT_SMTP_USER")
        var password = source.string("KUVERT_SMTP_PASSWORD")
        if components.user != nil || components.password != nil {
            guard username == nil && password == nil else {
                throw KuvertError.configuration(
                    "KUVERT_SMTP_URL holds credentials and KUVERT_SMTP_USER or KUVERT_SMTP_PASSWORD is set too: keep one of them."
                )
            }
            username = components.user
            password = components.password
            components.user = nil
            components.password = nil
        }
        var url = components.string ?? given
        if let ehlo = source.string("KUVERT_SMTP_EHLO") {
            guard SettingSource.isHostName(ehlo) else {
                throw KuvertError.configuration(
                    "KUVERT_SMTP_EHLO must be a host name such as mail.example.se, not '\(SettingSource.shown(ehlo))'."
                )
            }
            guard parsed.path.isEmpty || parsed.path == "/" else {
                throw KuvertError.configuration(
                    "KUVERT_SMTP_EHLO and an EHLO name in KUVERT_SMTP_URL's path ('\(SettingSource.shown(parsed.path))') cannot both be set."
                )
            }
            // libcurl says EHLO with the URL's path.
            url = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/" + ehlo
        }
        // No password in clear unless the operator says so: with credentials,
        // STARTTLS must succeed (smtps:// is TLS from the start anyway).
        let requireTLS = try source.choice(
            "KUVERT_SMTP_TLS",
            default: username != nil || password != nil,
            [("require", true), ("opportunistic", false)]
        )
        let caFile = source.string("KUVERT_SMTP_CA_FILE")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw KuvertError.configuration("KUVERT_SMTP_CA_FILE names '\(SettingSource.shown(caFile))', which is no readable file.")
        }
        self.init(
            url: url,
            username: username,
            password: password,
            requireTLS: requireTLS,
            caFile: caFile,
            pinnedPublicKey: source.string("KUVERT_SMTP_PINNED_KEY")
        )
    }

    /// The relay's host name or address.
    public var host: String? { URL(string: url)?.host }
}
