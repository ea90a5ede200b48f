import Foundation

/// Lists and their versioned terms.
public protocol ListStore: Sendable {
    /// Creates a list with its first terms version.
    /// - Throws: `KuvertError.listExists`.
    func createList(_ list: MailingList, terms: String, actor: String) async throws -> MailingList
    /// Publishes a new terms version for a list; later confirmations accept it.
    /// - Throws: `KuvertError.unknownList`.
    func publishTerms(listSlug: String, body: String, actor: String, now: Date) async throws -> TermsVersion
    /// All lists, oldest first, with their current terms version and counts.
    func listSummaries() async throws -> [ListSummary]
    /// The list with this slug, or the default list (the oldest) for nil.
    /// - Throws: `KuvertError.unknownList`, `.noDefaultList`.
    func mailingList(slug: String?) async throws -> MailingList
}
