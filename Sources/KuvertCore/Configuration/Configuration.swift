import Foundation
import Logging

/// Everything Kuvert is configured with, read once by the executable and passed down.
///
/// Built from a dictionary of setting names to values (`KUVERT_DATA_DIR` ...), in
/// which the command line has already layered its flags over the environment.
/// Tests construct it directly with `Configuration(dataDirectory:)`.
public struct Configuration: Sendable {
    public var dataDirectory: String
    public var databasePath: String
    public var listenHost: String
    public var listenPort: Int
    /// The public address of the service, without a trailing slash; used in links in mail.
    public var baseURL: String
    public var smtpURL: String
    public var smtpUser: String?
    public var smtpPassword: String?
    /// Refuse to send unless STARTTLS succeeds on `smtp://` (`KUVERT_SMTP_TLS=require`);
    /// the default whenever credentials are set, so no password goes out in clear.
    public var smtpRequireTLS: Bool
    /// A PEM file of CAs to trust for the relay's certificate (`KUVERT_SMTP_CA_FILE`).
    public var smtpCAFile: String?
    /// The relay's public key, pinned (`KUVERT_SMTP_PINNED_KEY`: `sha256//BASE64` or a key file).
    public var smtpPinnedKey: String?
    /// The name Kuvert gives in EHLO (`KUVERT_SMTP_EHLO`); nil for the machine's host name.
    public var smtpEHLO: String?
    public var from: String
    /// A secret given directly; nil to use the key file in the data directory.
    public var secret: String?
    public var templatesDirectory: String
    public var smtpConnections: Int
    /// Messages per second across all SMTP sessions; nil for no limit.
    public var sendRate: Double?
    public var retryBase: TimeInterval
    public var retryLimit: Int
    /// How long a confirmation link, and the pending subscription, live.
    public var confirmTTL: TimeInterval
    /// How long unsubscribed and bounced people are kept before erasure.
    public var retention: TimeInterval
    /// How long per-message delivery records are kept (`KUVERT_MESSAGE_RETENTION`);
    /// campaigns keep their totals.
    public var messageRetention: TimeInterval
    /// A repeated request for a pending subscription within this time sends no new mail.
    public var resendWindow: TimeInterval
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// How long a worker holds the messages it claimed before others may take them.
    public var leaseDuration: TimeInterval
    /// Permanent refusals in a row that mark a subscription bounced.
    public var bounceLimit: Int
    /// A connection that sends and receives nothing this long is closed.
    public var idleTimeout: TimeInterval
    /// The least time between rendering the embeddable form and submitting it;
    /// quicker submissions are taken for bots.
    public var formMinimumSeconds: TimeInterval
    /// The least time before intake and privacy requests are answered, so that
    /// what a request found (a new address, a known one) cannot be told from
    /// the answer's timing (`KUVERT_ANSWER_FLOOR`, default 10 ms).
    public var answerFloor: TimeInterval
    /// Requests per client address to the public POST routes.
    public var clientRateLimit: RateLimiter.Limit
    /// Requests naming one target address (subscribe, privacy link), from anyone.
    public var addressRateLimit: RateLimiter.Limit
    /// Proxies whose `X-Forwarded-For` is believed: IPv4 addresses or CIDR ranges, IPv6 addresses.
    public var trustedProxies: [String]
    /// An address that takes unsubscribe requests by mail, offered in
    /// `List-Unsubscribe` beside the link; nil for none.
    public var unsubscribeMailto: String?
    /// Where `kuvert worker` serves `/metrics` (`KUVERT_METRICS_LISTEN`); nil for nowhere.
    public var metricsListen: (host: String, port: Int)?
    /// `text` (one `key=value` line per event) or `json` (one object per line), `KUVERT_LOG_FORMAT`.
    public var logFormat: LogFormat
    /// The least severe level logged, `KUVERT_LOG_LEVEL` (default `info`).
    public var logLevel: Logger.Level

    /// The defaults, which make `kuvert serve` work on a laptop, rooted at `dataDirectory`.
    public init(dataDirectory: String = "./data") {
        self.dataDirectory = dataDirectory
        self.databasePath = dataDirectory + "/kuvert.sqlite"
        self.listenHost = "127.0.0.1"
        self.listenPort = 8080
        self.baseURL = "http://127.0.0.1:8080"
        self.smtpURL = "smtp://127.0.0.1:2525"
        self.smtpUser = nil
        self.smtpPassword = nil
        self.smtpRequireTLS = false
        self.smtpCAFile = nil
        self.smtpPinnedKey = nil
        self.smtpEHLO = nil
        self.from = "Kuvert <newsletter@localhost>"
        self.secret = nil
        self.templatesDirectory = "./Templates"
        self.smtpConnections = 4
        self.sendRate = nil
        self.retryBase = 30
        self.retryLimit = 8
        self.confirmTTL = 7 * 86_400
        self.retention = 730 * 86_400
        self.messageRetention = 400 * 86_400
        self.resendWindow = 3_600
        self.maxBodyBytes = 16 * 1024
        self.leaseDuration = 300
        self.bounceLimit = 3
        self.unsubscribeMailto = nil
        self.formMinimumSeconds = 3
        self.answerFloor = 0.01
        self.idleTimeout = 30
        self.clientRateLimit = .init(count: 30, window: 60)
        self.addressRateLimit = .init(count: 5, window: 3_600)
        self.trustedProxies = []
        self.metricsListen = nil
        self.logFormat = .text
        self.logLevel = .info
    }

    /// A configuration from named settings over the defaults.
    ///
    /// - Parameter settings: `KUVERT_*` names to values; unknown names are ignored.
    /// - Throws: `KuvertError.configuration` naming the setting and what is wrong.
    public init(settings: [String: String]) throws {
        let value: (String) -> String? = { name in
            settings[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        self.init(dataDirectory: value("KUVERT_DATA_DIR") ?? "./data")
        if let path = value("KUVERT_DATABASE") { databasePath = path }
        if let listen = value("KUVERT_LISTEN") { (listenHost, listenPort) = try Self.parseListen(listen) }
        if let url = value("KUVERT_BASE_URL") { baseURL = try Self.parseBaseURL(url) }
        if let url = value("KUVERT_SMTP_URL") { smtpURL = url }
        smtpUser = value("KUVERT_SMTP_USER")
        smtpPassword = value("KUVERT_SMTP_PASSWORD")
        if let tls = value("KUVERT_SMTP_TLS") {
            guard ["require", "opportunistic"].contains(tls) else {
                throw KuvertError.configuration("KUVERT_SMTP_TLS must be 'require' or 'opportunistic', not '\(tls)'.")
            }
            smtpRequireTLS = tls == "require"
        } else {
            // No password in clear unless the operator says so: with credentials,
            // STARTTLS must succeed (smtps:// is TLS from the start anyway).
            smtpRequireTLS = smtpUser != nil || smtpPassword != nil
        }
        if let path = value("KUVERT_SMTP_CA_FILE") {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw KuvertError.configuration("KUVERT_SMTP_CA_FILE names '\(path)', which is no readable file.")
            }
            smtpCAFile = path
        }
        smtpPinnedKey = value("KUVERT_SMTP_PINNED_KEY")
        if let name = value("KUVERT_SMTP_EHLO") {
            guard Self.isHostName(name) else {
                throw KuvertError.configuration(
                    "KUVERT_SMTP_EHLO must be a host name such as mail.example.se, not '\(name)'.")
            }
            smtpEHLO = name
        }
        if let from = value("KUVERT_FROM") { self.from = from }
        secret = value("KUVERT_SECRET")
        if let path = value("KUVERT_TEMPLATES") { templatesDirectory = path }
        if let text = value("KUVERT_SMTP_CONNECTIONS") {
            smtpConnections = try Self.parseCount(text, name: "KUVERT_SMTP_CONNECTIONS", range: 1...256)
        }
        if let text = value("KUVERT_SEND_RATE") {
            guard let rate = Double(text), rate > 0, rate.isFinite else {
                throw KuvertError.configuration("KUVERT_SEND_RATE must be a positive number of messages per second, not '\(text)'.")
            }
            sendRate = rate
        }
        if let text = value("KUVERT_RETRY_BASE") { retryBase = try Self.parseDuration(text, name: "KUVERT_RETRY_BASE") }
        if let text = value("KUVERT_RETRY_LIMIT") {
            retryLimit = try Self.parseCount(text, name: "KUVERT_RETRY_LIMIT", range: 1...100)
        }
        if let text = value("KUVERT_CONFIRM_TTL") { confirmTTL = try Self.parseDuration(text, name: "KUVERT_CONFIRM_TTL") }
        if let text = value("KUVERT_RETENTION") { retention = try Self.parseDuration(text, name: "KUVERT_RETENTION") }
        if let text = value("KUVERT_MESSAGE_RETENTION") {
            messageRetention = try Self.parseDuration(text, name: "KUVERT_MESSAGE_RETENTION")
        }
        if let text = value("KUVERT_RESEND_WINDOW") {
            resendWindow = try Self.parseDuration(text, name: "KUVERT_RESEND_WINDOW", allowZero: true)
        }
        if let text = value("KUVERT_LEASE") { leaseDuration = try Self.parseDuration(text, name: "KUVERT_LEASE") }
        if let text = value("KUVERT_BOUNCE_LIMIT") {
            bounceLimit = try Self.parseCount(text, name: "KUVERT_BOUNCE_LIMIT", range: 1...100)
        }
        if let text = value("KUVERT_UNSUBSCRIBE_MAILTO") {
            guard (try? EmailAddress(text)) != nil else {
                throw KuvertError.configuration("KUVERT_UNSUBSCRIBE_MAILTO must be an address such as unsubscribe@example.se, not '\(text)'.")
            }
            unsubscribeMailto = text
        }
        if let text = value("KUVERT_IDLE_TIMEOUT") { idleTimeout = try Self.parseDuration(text, name: "KUVERT_IDLE_TIMEOUT") }
        if let text = value("KUVERT_FORM_MIN_SECONDS") {
            formMinimumSeconds = try Self.parseDuration(text, name: "KUVERT_FORM_MIN_SECONDS", allowZero: true)
        }
        if let text = value("KUVERT_ANSWER_FLOOR") {
            answerFloor = try Self.parseDuration(text, name: "KUVERT_ANSWER_FLOOR", allowZero: true)
            guard answerFloor <= 5 else {
                throw KuvertError.configuration("KUVERT_ANSWER_FLOOR must be at most 5s, not '\(text)'.")
            }
        }
        if let text = value("KUVERT_RATE_LIMIT") {
            clientRateLimit = try RateLimiter.Limit(parsing: text, setting: "KUVERT_RATE_LIMIT")
        }
        if let text = value("KUVERT_ADDRESS_RATE_LIMIT") {
            addressRateLimit = try RateLimiter.Limit(parsing: text, setting: "KUVERT_ADDRESS_RATE_LIMIT")
        }
        if let text = value("KUVERT_TRUSTED_PROXIES") {
            trustedProxies = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for proxy in trustedProxies where !TrustedProxies.isValid(proxy) {
                throw KuvertError.configuration("KUVERT_TRUSTED_PROXIES holds '\(proxy)', which is no IP address or IPv4 CIDR range.")
            }
        }
        if let text = value("KUVERT_METRICS_LISTEN") {
            metricsListen = try Self.parseListen(text, name: "KUVERT_METRICS_LISTEN")
        }
        if let text = value("KUVERT_LOG_FORMAT") {
            guard let format = LogFormat(rawValue: text) else {
                throw KuvertError.configuration("KUVERT_LOG_FORMAT must be 'text' or 'json', not '\(text)'.")
            }
            logFormat = format
        }
        if let text = value("KUVERT_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text) else {
                throw KuvertError.configuration(
                    "KUVERT_LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'.")
            }
            logLevel = level
        }
        if let text = value("KUVERT_MAX_BODY") {
            maxBodyBytes = try Self.parseCount(text, name: "KUVERT_MAX_BODY", range: 256...(16 * 1024 * 1024))
        }
    }

    /// A DNS host name: dot-separated labels of letters, digits and inner hyphens.
    static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" }
        }
    }

    /// True for names of this machine's loopback interface: links to them and
    /// mail through them never leave the machine.
    public static func isLoopback(_ host: String?) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host ?? "")
    }

    /// A duration such as `90`, `90s`, `15m`, `12h` or `7d`, in seconds.
    public static func parseDuration(_ text: String, name: String, allowZero: Bool = false) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            number = number.dropLast()
            unit = factor
        }
        guard let amount = Double(number), amount.isFinite, amount > 0 || (allowZero && amount == 0) else {
            throw KuvertError.configuration(
                "\(name) must be a duration such as 30s, 15m, 12h or 7d, not '\(text)'.")
        }
        return amount * unit
    }

    static func parseCount(_ text: String, name: String, range: ClosedRange<Int>) throws -> Int {
        guard let count = Int(text), range.contains(count) else {
            throw KuvertError.configuration(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'.")
        }
        return count
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    public static func parseListen(_ text: String, name: String = "KUVERT_LISTEN") throws -> (host: String, port: Int) {
        let problem = KuvertError.configuration("\(name) must be HOST:PORT, such as 127.0.0.1:8080, not '\(text)'.")
        guard let colon = text.lastIndex(of: ":") else { throw problem }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw problem
        }
        return (host, port)
    }

    static func parseBaseURL(_ text: String) throws -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
              url.query == nil, url.fragment == nil
        else {
            throw KuvertError.configuration("KUVERT_BASE_URL must be an http or https address such as https://news.example.se, not '\(text)'.")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
