/// How what became of a message bears on its subscription: the one place that
/// decides which refusals count towards marking a subscription `bounced`.
///
/// Only refusals of the recipient's mailbox count (RFC 3463 `5.1.x`, address;
/// `5.2.x`, mailbox; or, with no enhanced status, a bare 550 to 553). Policy,
/// protocol and system refusals (`5.7.x`, `5.5.x`, `5.3.x`) say something about
/// the sender or the relay, and transient failures about the moment: they leave
/// the count as it is. A delivery resets it, so only refusals in a row bounce.
public enum BouncePolicy {
    public enum Effect: Sendable, Equatable {
        /// One more mailbox refusal in a row.
        case countsTowardsBounce
        /// The mailbox took a message: the count starts again.
        case resetsCount
        /// Says nothing about the mailbox.
        case none
    }

    /// The effect of one delivery record on its subscription's refusal count.
    public static func effect(of record: DeliveryRecord) -> Effect {
        switch record {
        case .sent: .resetsCount
        case .failed(let outcome): isMailboxRefusal(outcome) ? .countsTowardsBounce : .none
        case .retry, .skipped: .none
        }
    }

    /// Whether a permanent refusal is about the recipient's mailbox.
    public static func isMailboxRefusal(_ outcome: SendOutcome) -> Bool {
        guard outcome.kind == .permanent, let code = outcome.code else { return false }
        let words = outcome.reply.split(separator: " ")
        if words.count > 1, let status = words.dropFirst().first, status.first == "5", status.filter({ $0 == "." }).count == 2 {
            return status.hasPrefix("5.1.") || status.hasPrefix("5.2.")
        }
        return (550...553).contains(code)
    }
}
