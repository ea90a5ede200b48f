import Foundation

/// What Kuvert's mail says about where it comes from and where its links go.
public struct MailSettings: Sendable {
    /// `KUVERT_BASE_URL`: the public address of the service, without a trailing
    /// slash; links in mail point here.
    public var baseURL: String
    /// `KUVERT_FROM`: the sender of every list without a `From` of its own.
    public var from: String
    /// `KUVERT_UNSUBSCRIBE_MAILTO`: an address that takes unsubscribe requests
    /// by mail, offered in `List-Unsubscribe` beside the link; nil for none.
    public var unsubscribeMailto: String?
    /// `KUVERT_DKIM`: sign with the keys in the data directory (`on`, the
    /// default), or leave signing to the relay (`off`).
    public var dkim: Bool
    /// `KUVERT_BOUNCE_DOMAIN`: the domain of the signed envelope senders
    /// (`BounceAddresses`), lower case; nil sends with the From address.
    public var bounceDomain: String?
    /// `KUVERT_LMTP_LISTEN`: where `kuvert serve` takes the bounce domain's
    /// mail over LMTP; nil for nowhere. Needs `bounceDomain`.
    public var lmtpListen: (host: String, port: Int)?
    /// `KUVERT_BOUNCE_MAILBOX`: a mailbox the bounce domain's mail goes to,
    /// read over IMAP instead of (or besides) LMTP; nil for none. Needs `bounceDomain`.
    public var bounceMailbox: BounceMailboxSettings?
    /// `KUVERT_TIME_ZONE`: the zone times in mail and pages are written in.
    public var humanTime: HumanTime

    public init() {
        dkim = true
        baseURL = "http://127.0.0.1:8080"
        from = "Kuvert <newsletter@localhost>"
        unsubscribeMailto = nil
        humanTime = .stockholm
    }

    public init(_ source: SettingSource) throws {
        self.init()
        if let text = source.string("KUVERT_BASE_URL") { baseURL = try Self.baseURL(text) }
        if let text = source.string("KUVERT_FROM") { from = text }
        if let text = source.string("KUVERT_TIME_ZONE") {
            guard let zone = TimeZone(identifier: text) else {
                throw KuvertError.configuration(
                    "KUVERT_TIME_ZONE must be a time zone such as Europe/Stockholm or UTC, not '\(SettingSource.shown(text))'."
                )
            }
            humanTime = HumanTime(timeZone: zone)
        }
        dkim = try source.choice("KUVERT_DKIM", default: true, [("on", true), ("off", false)])
        if let text = source.string("KUVERT_BOUNCE_DOMAIN") {
            let domain = text.lowercased()
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            guard domain.count <= 200, labels.count >= 2,
                labels.allSatisfy({ label in
                    (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                        && label.utf8.allSatisfy { $0 == 0x2D || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }
                })
            else {
                throw KuvertError.configuration(
                    "KUVERT_BOUNCE_DOMAIN must be a domain such as bounces.example.se, not '\(SettingSource.shown(text))'."
                )
            }
            bounceDomain = domain
        }
        lmtpListen = try source.listen("KUVERT_LMTP_LISTEN")
        if lmtpListen != nil, bounceDomain == nil {
            throw KuvertError.configuration(
                "KUVERT_LMTP_LISTEN takes mail for the bounce addresses: set KUVERT_BOUNCE_DOMAIN too."
            )
        }
        if let text = source.string("KUVERT_BOUNCE_MAILBOX") {
            guard bounceDomain != nil else {
                throw KuvertError.configuration(
                    "KUVERT_BOUNCE_MAILBOX holds mail for the bounce addresses: set KUVERT_BOUNCE_DOMAIN too."
                )
            }
            bounceMailbox = try BounceMailboxSettings(text)
        }
        if let text = source.string("KUVERT_UNSUBSCRIBE_MAILTO") {
            guard (try? EmailAddress(text)) != nil else {
                throw KuvertError.configuration(
                    "KUVERT_UNSUBSCRIBE_MAILTO must be an address such as unsubscribe@example.se, not '\(SettingSource.shown(text))'."
                )
            }
            unsubscribeMailto = text
        }
    }

    /// The sender, parsed.
    /// - Throws: `KuvertError.configuration` when `KUVERT_FROM` is not a mailbox.
    public func sender() throws -> Mailbox {
        do {
            return try Mailbox(parsing: from)
        } catch {
            throw KuvertError.configuration("KUVERT_FROM must look like 'Name <news@example.se>': \(error)")
        }
    }

    static func baseURL(_ text: String) throws -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
            url.query == nil, url.fragment == nil
        else {
            throw KuvertError.configuration(
                "KUVERT_BASE_URL must be an http or https address such as https://news.example.se, not '\(SettingSource.shown(text))'."
            )
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
