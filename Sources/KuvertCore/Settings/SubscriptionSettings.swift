import Foundation

/// How long the steps of double opt-in take.
public struct SubscriptionSettings: Sendable {
    /// `KUVERT_CONFIRM_TTL`: how long a confirmation link, and the pending subscription, live.
    public var confirmTTL: TimeInterval
    /// `KUVERT_RESEND_WINDOW`: a repeated request for a pending subscription
    /// within this time sends no new mail.
    public var resendWindow: TimeInterval

    public init() {
        confirmTTL = 7 * 86_400
        resendWindow = 3_600
    }

    public init(_ source: SettingSource) throws {
        self.init()
        confirmTTL = try source.duration("KUVERT_CONFIRM_TTL", default: confirmTTL)
        resendWindow = try source.duration("KUVERT_RESEND_WINDOW", default: resendWindow, allowZero: true)
    }
}
