import Foundation

/// What a worker decided about one leased message.
public enum DeliveryRecord: Sendable, Equatable {
    /// The server accepted it.
    case sent(SendOutcome)
    /// A transient failure: try again at the given time.
    case retry(SendOutcome, at: Date)
    /// Given up. A permanent refusal counts towards bouncing the subscription.
    case failed(SendOutcome)
    /// Not sent because it no longer applies.
    case skipped(reason: String)
}
