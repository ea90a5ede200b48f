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
    public var bounceLimit: Int
    public var leaseDuration: TimeInterval
    /// Messages a session claims at a time. Small, so sessions share the work
    /// and a crash holds few messages.
    public var batchSize: Int
    /// How long an idle session sleeps before looking again (a wake-up comes sooner).
    public var idlePoll: TimeInterval

    public init(_ configuration: Configuration) {
        connections = configuration.smtpConnections
        sendRate = configuration.sendRate
        retryBase = configuration.retryBase
        retryLimit = configuration.retryLimit
        bounceLimit = configuration.bounceLimit
        leaseDuration = configuration.leaseDuration
        batchSize = 32
        idlePoll = 1
    }

    /// The wait before attempt `attempt + 1` after `attempt` failures: the base
    /// doubled for each earlier failure, times a random factor from 0.75 to 1.25,
    /// at most a day.
    public func retryDelay(afterAttempt attempt: Int) -> TimeInterval {
        let doubled = retryBase * pow(2, Double(max(attempt - 1, 0)))
        return min(doubled * Double.random(in: 0.75...1.25), 86_400)
    }
}
