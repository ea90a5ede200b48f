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

extension DeliveryRecord {
    /// One message's record as its session made it.
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var record: DeliveryRecord
        /// When it was made: the time a sent message is recorded as sent.
        public var at: Date

        public init(id: Int64, record: DeliveryRecord, at: Date) {
            self.id = id
            self.record = record
            self.at = at
        }
    }
}
