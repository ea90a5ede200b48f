import Foundation

/// Terms that change: told (a notice) or asked again (a re-consent), with the
/// same proof as the first consent, and the deadline job that reminds and
/// lapses. Every step is safe to run twice and on several nodes at once.
public protocol TermsChangeStore: Sendable {
    /// Publishes a new terms version and opens a change of it: in one
    /// transaction the version and the change; then its mail, queued by
    /// streaming the list's active subscriptions in batches of `batchSize`
    /// (the restricted left out), at-least-once: a crash mid-way is finished by
    /// `applyTermsDeadlines`.
    /// - Throws: `KuvertError.unknownList`, `.termsUnchanged`, and
    ///   `.termsChangeOpen` with `TermsChange.openLine` while a change is open.
    func changeTerms(
        listSlug: String,
        body: String,
        translations: [Language: String],
        _ request: TermsChangeRequest,
        actor: String,
        now: Date,
        batchSize: Int
    ) async throws -> TermsChangeProgress
    /// The list's open change, or its latest closed one; nil when it never had one.
    /// - Throws: `KuvertError.unknownList`.
    func latestTermsChange(listSlug: String, now: Date) async throws -> TermsChangeProgress?
    /// What a re-consent link for this subscription and change opens; nil when
    /// either is gone.
    func reconsent(subscriptionId: Int64, changeId: Int64) async throws -> ReconsentContext?
    /// Records that the person accepted the change's version (ledger
    /// `confirmed`, source `reconsent`, the text in `language` and its hash),
    /// unless they had already; returns the context as it then stands.
    /// - Throws: `ConfirmationService.LinkError.expired` once the change is
    ///   closed, `.noLongerValid` when the subscription is no longer active.
    func acceptReconsent(
        subscriptionId: Int64,
        changeId: Int64,
        language: Language,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> ReconsentContext
    /// When the deadline job next has something to do; nil when no change is open.
    func nextTermsDeadline() async throws -> Date?
    /// Does what is due at `now`: finishes interrupted queueing, sends the one
    /// reminder at half the deadline, lapses who did not accept at the
    /// deadline (ledger, audit, webhook), and closes what is done.
    func applyTermsDeadlines(now: Date, batchSize: Int) async throws -> TermsDeadlineReport
}
