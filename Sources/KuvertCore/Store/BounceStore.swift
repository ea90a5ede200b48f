import Foundation

/// Bounce events: what came back to the bounce addresses, and `BouncePolicy`
/// applied to the subscriptions they name.
public protocol BounceStore: Sendable {
    /// Stores `event` (its outbox message named, subscription and outcome not
    /// yet known) and applies `BouncePolicy` to the message's subscription, in
    /// one transaction: a hard bounce, or `bounceLimit` permanent failures in a
    /// row, makes an active or pending subscription `bounced`; a complaint
    /// unsubscribes it with a `withdrawn` consent entry of source `complaint`.
    /// An ended or erased subscription changes no more, and an erased person's
    /// event keeps no diagnostic. Returns the event as stored; an event whose
    /// `providerEvent` is stored already changes nothing, is not stored again
    /// and comes back with outcome `duplicate`.
    func recordBounce(_ event: BounceEvent, bounceLimit: Int) async throws -> BounceEvent
    /// The latest events, newest first.
    func latestBounces(limit: Int) async throws -> [BounceListing]
    /// The events about one outbox message, oldest first.
    func bounces(messageId: Int64) async throws -> [BounceEvent]
}
