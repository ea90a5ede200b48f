import Foundation

/// Self-service privacy requests.
public protocol PrivacyRequestStore: Sendable {
    /// Queues a privacy-link mail for a known, not erased address, unless one
    /// was queued within `resendWindow`. Returns whether a mail was queued; the
    /// answer to the requester must not depend on it.
    func requestPrivacyLink(_ address: EmailAddress, resendWindow: TimeInterval, now: Date) async throws -> Bool
    /// The address of a subscriber who is not erased.
    func subscriberAddress(id: Int64) async throws -> EmailAddress?
}
