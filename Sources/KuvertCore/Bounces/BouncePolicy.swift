import Foundation

/// What a report or a refusal says about a recipient's mailbox. Stored with
/// each bounce event and the label of `kuvert_bounces_total{kind}`.
public enum BounceKind: String, Sendable, Codable, CaseIterable {
    /// The mailbox or its domain does not exist (`5.1.1`, `5.1.10`, `5.1.2`).
    case hard
    /// Any other permanent failure of the recipient (`5.x.x` but `5.7.x`).
    case soft
    /// A refusal by policy (`5.7.x`): about the sender or the message, not the mailbox.
    case policy
    /// A transient failure or a delay (`4.x.x`, whatever the `Action`).
    case transient
    /// A feedback report (RFC 5965): the recipient called the message unwanted.
    case complaint
    /// An automatic reply (RFC 3834).
    case autoReply = "auto-reply"
    /// Nothing Kuvert recognises, or a report of success.
    case ignored
}

/// The one place that decides what a refusal at send time, a delivery status
/// notification or a complaint does to a subscription, as DESIGN.md
/// "Bounces and complaints" has it:
///
/// - a mailbox or domain that does not exist bounces the subscription at once;
/// - any other permanent failure counts: at `KUVERT_BOUNCE_LIMIT` in a row it bounces;
/// - policy refusals (`5.7.x`) and transient failures (`4.x.x`, also when a DSN
///   says `failed` after a queue lifetime of `4.4.x`) change nothing;
/// - a delivery starts the count again;
/// - a complaint unsubscribes.
///
/// Judged by the status code, never by the `Action` a DSN names.
public enum BouncePolicy {
    public enum Effect: Sendable, Equatable {
        /// The mailbox does not exist: bounced now.
        case bouncesNow
        /// One more permanent failure in a row.
        case countsTowardsBounce
        /// The mailbox took a message: the count starts again.
        case resetsCount
        /// The person called the message unwanted.
        case unsubscribes
        /// Says nothing about the mailbox.
        case none
    }

    public static func effect(of kind: BounceKind) -> Effect {
        switch kind {
        case .hard: .bouncesNow
        case .soft: .countsTowardsBounce
        case .complaint: .unsubscribes
        case .policy, .transient, .autoReply, .ignored: .none
        }
    }

    /// The effect of one delivery record made at send time.
    public static func effect(of record: DeliveryRecord) -> Effect {
        switch record {
        case .sent: .resetsCount
        case .failed(let outcome): outcome.kind == .permanent ? effect(of: kind(of: outcome)) : .none
        case .retry, .skipped: .none
        }
    }

    /// What a report says.
    public static func kind(of report: BounceReport) -> BounceKind {
        switch report {
        case .deliveryStatus(let status, _, let diagnostic): kind(status: status, diagnostic: diagnostic)
        case .complaint: .complaint
        case .autoReply: .autoReply
        case .feedback, .unrecognised: .ignored
        }
    }

    /// What a refusal at send time says: its enhanced status code when the
    /// reply has one; else, of the bare codes, the mailbox ones (550, 551,
    /// 552, 553) count and the rest (554 "transaction failed", 500 to 504,
    /// which say nothing of the mailbox) are taken as policy.
    public static func kind(of outcome: SendOutcome) -> BounceKind {
        switch outcome.kind {
        case .delivered: return .ignored
        case .transient: return .transient
        case .permanent: break
        }
        let words = outcome.reply.split(separator: " ")
        if words.count > 1, let status = BounceReport.statusCode(in: String(words[1])) {
            return kind(status: status, diagnostic: outcome.reply)
        }
        guard let code = outcome.code else { return .policy }
        if let said = BounceText.phrase(in: outcome.reply)?.kind { return said }
        return (550...553).contains(code) ? .soft : .policy
    }

    /// What an RFC 3463 status code says, and the words with it
    /// (`BounceText`): a `4.x.x` is transient whatever it says. Of a `5.x.x`,
    /// words that say "not now" or "not this sender or content" decide over
    /// any code (a `5.1.1` "too many recipients this hour" is a rate limit);
    /// then `5.1.1`, `5.1.10` and `5.1.2` are a mailbox or domain that does
    /// not exist; then words decide over a generic code (`5.0.0`, `5.5.0`,
    /// Postfix's `5.4.4` "Host or domain name not found", even a `5.7.x`):
    /// hard, or soft for a full or closed mailbox; what is left is policy for
    /// `5.7.x`, else soft.
    public static func kind(status: String, diagnostic: String?) -> BounceKind {
        switch status.first {
        case "4": return .transient
        case "5": break
        default: return .ignored
        }
        let said = diagnostic.flatMap(BounceText.phrase(in:))?.kind
        if let said, said == .transient || said == .policy { return said }
        let gone = ["5.1.1", "5.1.10", "5.1.2"].contains(status)
        // "User unknown" after the message's data, or under a code that says the mailbox
        // exists (5.2.x) but not at RCPT TO: a filter's answer (`BounceStage`).
        if said == .hard, !gone, let diagnostic {
            let afterData = BounceStage.afterData(Array(diagnostic.utf8))
            if afterData == true || (status.hasPrefix("5.2.") && afterData != false) { return .soft }
        }
        if gone || said == .hard { return .hard }
        if let said { return said }
        // RFC 3463's X.4.7, delivery time expired: the queue gave up, no mailbox refused.
        if status == "5.4.7" { return .transient }
        return status.hasPrefix("5.7.") ? .policy : .soft
    }

    /// What an effect does to one subscription, given its state: the one
    /// decision both stores apply (`SQLiteStore.apply`, `PostgresStore.apply`).
    /// PL/pgSQL's `kuvert_record_delivery` (pg7) repeats it for speed; the store
    /// scenarios hold the copies to the same answers.
    public enum Step: Sendable, Equatable {
        /// Nothing changes.
        case nothing
        /// The count of permanent failures in a row goes back to 0.
        case resetCount
        /// The count goes up by one; the subscription stays as it is.
        case count
        /// The count goes up by one and the subscription ends `bounced`, for
        /// this reason (the audit entry's detail).
        case bounce(reason: String)
        /// The subscription ends `unsubscribed`, as the person asked.
        case unsubscribe
    }

    /// - Parameters:
    ///   - ongoing: whether the subscription is pending or active (an ended one
    ///     only counts, and a complaint about it changes nothing).
    ///   - streak: its count of permanent failures in a row before this one.
    ///   - limit: `KUVERT_BOUNCE_LIMIT`.
    public static func step(_ effect: Effect, ongoing: Bool, streak: Int, limit: Int) -> Step {
        switch effect {
        case .none: .nothing
        case .resetsCount: .resetCount
        case .unsubscribes: ongoing ? .unsubscribe : .nothing
        case .bouncesNow: ongoing ? .bounce(reason: "the mailbox does not exist") : .count
        case .countsTowardsBounce:
            ongoing && streak + 1 >= limit ? .bounce(reason: "\(limit) permanent failures in a row") : .count
        }
    }
}
