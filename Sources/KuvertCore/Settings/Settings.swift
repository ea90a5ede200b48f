import Foundation

/// Everything Kuvert is configured with, by concern. The executable reads it
/// once and gives each layer only its part: the web layer never sees the SMTP
/// password, the mailer never sees the rate limits.
///
/// Read from `KUVERT_*` variables (`SettingSource`); `Settings()` is the
/// defaults, which make `kuvert serve` work on a laptop.
public struct Settings: Sendable {
    public var storage: StorageSettings
    public var http: HTTPSettings
    public var security: SecuritySettings
    public var subscriptions: SubscriptionSettings
    public var mail: MailSettings
    public var smtp: SMTPSettings
    public var mailer: MailerSettings
    public var retention: RetentionSettings
    public var logging: LogSettings
    /// `KUVERT_WEBHOOK_URL` and `KUVERT_WEBHOOK_SECRET`; nil when no webhook is set.
    public var webhook: WebhookSettings?
    /// `KUVERT_BOUNCE_WEBHOOK_<PROVIDER>`: the sending services whose bounce webhooks are taken.
    public var bounceWebhooks: BounceWebhookSettings

    /// The defaults, rooted at `dataDirectory`.
    public init(dataDirectory: String = "./data") {
        storage = StorageSettings(dataDirectory: dataDirectory)
        http = HTTPSettings()
        security = SecuritySettings()
        subscriptions = SubscriptionSettings()
        mail = MailSettings()
        smtp = SMTPSettings(url: "smtp://127.0.0.1:2525")
        mailer = MailerSettings()
        retention = RetentionSettings()
        logging = LogSettings()
        bounceWebhooks = BounceWebhookSettings()
    }

    /// The settings `source` holds, over the defaults.
    /// - Throws: `KuvertError.configuration` naming the first setting that is wrong and what it must look like.
    public init(_ source: SettingSource) throws {
        storage = try StorageSettings(source)
        http = try HTTPSettings(source)
        security = try SecuritySettings(source)
        subscriptions = try SubscriptionSettings(source)
        mail = try MailSettings(source)
        smtp = try SMTPSettings(source)
        mailer = try MailerSettings(source)
        retention = try RetentionSettings(source)
        logging = try LogSettings(source)
        webhook = try WebhookSettings.from(source)
        bounceWebhooks = try BounceWebhookSettings(source)
    }

    /// Every variable Kuvert reads (besides `KUVERT_CONFIG`, which names the file
    /// that may set the others).
    public static let names: Set<String> = Set([
        "KUVERT_DATA_DIR", "KUVERT_DATABASE", "KUVERT_TEMPLATES", "KUVERT_SECRET",
        "KUVERT_LISTEN", "KUVERT_MAX_BODY", "KUVERT_IDLE_TIMEOUT", "KUVERT_METRICS_LISTEN",
        "KUVERT_HEADER_TIMEOUT", "KUVERT_MAX_CONNECTIONS", "KUVERT_MAX_CONNECTIONS_PER_CLIENT",
        "KUVERT_RATE_LIMIT", "KUVERT_ADDRESS_RATE_LIMIT", "KUVERT_API_RATE_LIMIT", "KUVERT_TRUSTED_PROXIES", "KUVERT_FORM_MIN_SECONDS",
        "KUVERT_ANSWER_FLOOR", "KUVERT_RATE_LIMIT_IPV6_PREFIX", "KUVERT_FRAME_ANCESTORS",
        "KUVERT_CONFIRM_TTL", "KUVERT_RESEND_WINDOW",
        "KUVERT_BASE_URL", "KUVERT_FROM", "KUVERT_TIME_ZONE", "KUVERT_UNSUBSCRIBE_MAILTO", "KUVERT_DKIM", "KUVERT_BOUNCE_DOMAIN",
        "KUVERT_LMTP_LISTEN",
        "KUVERT_BOUNCE_MAILBOX",
        "KUVERT_SMTP_URL", "KUVERT_SMTP_USER", "KUVERT_SMTP_PASSWORD", "KUVERT_SMTP_TLS", "KUVERT_SMTP_CA_FILE",
        "KUVERT_SMTP_PINNED_KEY", "KUVERT_SMTP_EHLO",
        "KUVERT_SMTP_CONNECTIONS", "KUVERT_SEND_RATE", "KUVERT_RETRY_BASE", "KUVERT_RETRY_LIMIT", "KUVERT_BOUNCE_LIMIT",
        "KUVERT_LEASE",
        "KUVERT_RETENTION", "KUVERT_MESSAGE_RETENTION",
        "KUVERT_LOG_FORMAT", "KUVERT_LOG_LEVEL", "KUVERT_WEBHOOK_URL", "KUVERT_WEBHOOK_SECRET",
    ]).union(BounceWebhookProvider.allCases.map(\.variable))

    /// Refuses a `KUVERT_` name Kuvert does not read (a typo would otherwise
    /// leave a setting at its default without a word), naming the nearest
    /// setting when one is close.
    /// - Parameter place: where the name was found ("the environment", "FILE line N").
    public static func checkName(_ name: String, in place: String) throws {
        guard name.hasPrefix("KUVERT_"), name != "KUVERT_CONFIG", !names.contains(name) else { return }
        var nearest: (name: String, distance: Int)?
        for known in names.sorted() {
            let distance = editDistance(name, known)
            if distance < nearest?.distance ?? Int.max { nearest = (known, distance) }
        }
        var hint = " (see the README's configuration table)"
        if let nearest, nearest.distance <= 3 { hint = " (did you mean \(nearest.name)?)" }
        throw KuvertError.configuration("\(place): \(SettingSource.shown(name)) is no Kuvert setting\(hint).")
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                let substitution: Int = previous[j] + (x == y ? 0 : 1)
                let deletion: Int = previous[j + 1] + 1
                let insertion: Int = current[j] + 1
                current.append(Swift.min(substitution, deletion, insertion))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The variables whose values are, or may hold, secrets: never printed, never
    /// logged (`KUVERT_DATABASE` and the other URLs may hold a password).
    public static let secretNames: Set<String> = Set([
        "KUVERT_SECRET", "KUVERT_SMTP_PASSWORD", "KUVERT_DATABASE", "KUVERT_WEBHOOK_SECRET", "KUVERT_BOUNCE_MAILBOX",
        "KUVERT_SMTP_URL", "KUVERT_WEBHOOK_URL",
    ]).union(BounceWebhookProvider.allCases.filter { $0 != .ses }.map(\.variable))

    /// True when `value` of `name` is a secret: a key, a password, or a database URL with one.
    public static func isSecret(_ name: String, value: String) -> Bool {
        guard secretNames.contains(name) else { return false }
        // A database URL is a secret only when it holds a password; a file path is none.
        switch name {
        case "KUVERT_DATABASE":
            if case .postgres(let location)? = try? StoreLocation(value) { return location.password != nil }
            return false
        case "KUVERT_SMTP_URL", "KUVERT_WEBHOOK_URL", "KUVERT_BOUNCE_MAILBOX":
            return URLComponents(string: value)?.password != nil
        default:
            return true
        }
    }
}
