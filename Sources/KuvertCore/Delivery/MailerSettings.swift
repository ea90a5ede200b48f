import Foundation

/// How the mailer works: sessions, pace, retries.
public struct MailerSettings: Sendable {
    /// Parallel SMTP sessions, each on its own thread with its own connection.
    public var connections: Int
    /// Messages per second across all sessions; nil for no limit.
    public var sendRate: Double?
    /// The wait before the first retry; each further retry waits twice as long, with jitter.
    public var retryBase: TimeInterval
    /// Attempts before a message fails.
    public var retryLimit: Int
    /// Permanent refusals in a row that mark a subscription bounced.
    public var bounceLimit: Int
    /// How long a worker holds the messages it claimed before others may take them.
    public var leaseDuration: TimeInterval
    /// Messages a session claims at a time. Small: a round's lease and its
    /// records are a transaction each, which the web's writes wait behind (128
    /// put intake's p99 over 25 ms with a campaign going out), and sessions and
    /// nodes share a campaign. The duplicate window does not depend on it.
    public var batchSize: Int
    /// How long an idle session sleeps before looking again (a wake-up comes sooner).
    public var idlePoll: TimeInterval
    /// How often a running mailer looks for mailers on this host that died,
    /// to apply their journals and take their claims back. Well within the
    /// lease, so that a journal is applied before its claims could expire.
    public var reclaimInterval: TimeInterval

    public init() {
        connections = 4
        sendRate = nil
        retryBase = 30
        retryLimit = 8
        bounceLimit = 3
        leaseDuration = 300
        batchSize = 32
        idlePoll = 1
        reclaimInterval = 30
    }

    /// The settings read from `KUVERT_SMTP_CONNECTIONS`, `KUVERT_SEND_RATE`,
    /// `KUVERT_RETRY_BASE`, `KUVERT_RETRY_LIMIT`, `KUVERT_BOUNCE_LIMIT` and `KUVERT_LEASE`.
    public init(_ source: SettingSource) throws {
        self.init()
        connections = try source.count("KUVERT_SMTP_CONNECTIONS", default: connections, range: 1...256)
        if let text = source.string("KUVERT_SEND_RATE") {
            guard let rate = Double(text), rate > 0, rate.isFinite else {
                throw KuvertError.configuration(
                    "KUVERT_SEND_RATE must be a positive number of messages per second, not '\(SettingSource.shown(text))'."
                )
            }
            sendRate = rate
        }
        retryBase = try source.duration("KUVERT_RETRY_BASE", default: retryBase)
        retryLimit = try source.count("KUVERT_RETRY_LIMIT", default: retryLimit, range: 1...100)
        bounceLimit = try source.count("KUVERT_BOUNCE_LIMIT", default: bounceLimit, range: 1...100)
        leaseDuration = try source.duration("KUVERT_LEASE", default: leaseDuration)
    }

    /// The wait before attempt `attempt + 1` after `attempt` failures: the base
    /// doubled for each earlier failure, times a random factor from 0.75 to 1.25,
    /// at most a day.
    public func retryDelay(afterAttempt attempt: Int) -> TimeInterval {
        let doubled = retryBase * pow(2, Double(max(attempt - 1, 0)))
        return min(doubled * Double.random(in: 0.75...1.25), 86_400)
    }
}
