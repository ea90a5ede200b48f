import Foundation

/// How long what Kuvert holds is kept (the pending window is `SubscriptionSettings.confirmTTL`).
public struct RetentionSettings: Sendable {
    /// `KUVERT_RETENTION`: how long unsubscribed and bounced people are kept before erasure.
    public var retention: TimeInterval
    /// `KUVERT_MESSAGE_RETENTION`: how long per-message delivery records are kept;
    /// campaigns keep their totals.
    public var messageRetention: TimeInterval

    public init() {
        retention = 730 * 86_400
        messageRetention = 400 * 86_400
    }

    public init(_ source: SettingSource) throws {
        self.init()
        retention = try source.duration("KUVERT_RETENTION", default: retention)
        messageRetention = try source.duration("KUVERT_MESSAGE_RETENTION", default: messageRetention)
    }
}
