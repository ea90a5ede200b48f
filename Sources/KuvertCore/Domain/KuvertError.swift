import Foundation

/// Failures a person can act on. Only the web layer maps these to status codes
/// and only the command line to exit codes.
public enum KuvertError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidAddress(EmailAddress.Invalid)
    /// A form field that is malformed; the name and what is wrong with it.
    case invalidField(name: String, reason: String)
    case unknownList(String)
    /// No list exists, so a form without `list` has nowhere to go.
    case noDefaultList
    case listExists(String)
    case invalidSlug(String)
    case unknownSubscriber
    case unknownCampaign(Int64)
    /// A campaign change that its state does not allow, with the reason.
    case campaignState(String)
    /// A configuration value that cannot be used.
    case configuration(String)
    /// An active API token has this name already.
    case apiTokenExists(String)
    /// A terms text word for word the list's current version.
    case termsUnchanged(list: String, version: Int)
    /// A list's terms change while one is still open: `TermsChange.openLine`.
    case termsChangeOpen(String)

    public var description: String {
        switch self {
        case .invalidAddress(let problem): problem.description
        case .invalidField(let name, let reason): "The field '\(name)' \(reason)."
        case .unknownList(let slug): "There is no list called '\(slug)'."
        case .noDefaultList: "No list exists yet: create one with 'kuvert lists add'."
        case .listExists(let slug): "A list called '\(slug)' exists already."
        case .invalidSlug(let slug):
            "'\(slug)' is not a valid list name: use 1 to 64 lower-case letters, digits and hyphens."
        case .unknownSubscriber: "No subscriber has that address."
        case .unknownCampaign(let id): "There is no campaign \(id)."
        case .apiTokenExists(let name): "An API token called '\(name)' exists already: revoke it first, or choose another name."
        case .campaignState(let message): message
        case .termsUnchanged(let list, let version):
            "The terms of '\(list)' are v\(version) already, word for word: nothing was published."
        case .configuration(let message): message
        case .termsChangeOpen(let line): line
        }
    }
}
