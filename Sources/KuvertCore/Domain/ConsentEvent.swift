import Foundation

/// One entry in the append-only consent ledger of a subscription.
public struct ConsentEvent: Equatable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Someone asked for the subscription (a form, an import).
        case requested
        /// The person opened the link and accepted the terms.
        case confirmed
        /// The person withdrew consent.
        case withdrawn
        /// The subscription carried over to the person's new address, which
        /// its owner confirmed; the entry names no address.
        case rectified
        /// The person was told of new terms (`kuvert lists terms --notice`);
        /// the entry names the new version.
        case notified
        /// The person did not accept new terms by a re-consent's deadline and
        /// the subscription ended; the entry names the version not accepted.
        case lapsed
    }

    public var id: Int64?
    public var subscriptionId: Int64
    public var kind: Kind
    public var occurredAt: Date
    /// The client's network address, when the event came over HTTP.
    public var ip: String?
    public var userAgent: String?
    /// Where the event came from: `form`, `api`, `import`, `cli`, `one-click` ...
    public var source: String
    /// For `confirmed`: the terms version accepted and its hash.
    public var termsVersionId: Int64?
    public var termsSHA256: String?

    /// Every field, as a store reads it from its rows.
    public init(
        id: Int64? = nil,
        subscriptionId: Int64,
        kind: Kind,
        occurredAt: Date,
        ip: String? = nil,
        userAgent: String? = nil,
        source: String,
        termsVersionId: Int64? = nil,
        termsSHA256: String? = nil
    ) {
        self.id = id
        self.subscriptionId = subscriptionId
        self.kind = kind
        self.occurredAt = occurredAt
        self.ip = ip
        self.userAgent = userAgent
        self.source = source
        self.termsVersionId = termsVersionId
        self.termsSHA256 = termsSHA256
    }
}

/// Where a request came from, as recorded in the consent ledger.
public struct RequestOrigin: Sendable, Equatable {
    public var ip: String?
    public var userAgent: String?
    public var source: String
    /// Who acts, for the audit log: `web` for a person's own request, `cli`
    /// for an editor's on their behalf.
    public var actor: String

    public init(ip: String?, userAgent: String?, source: String, actor: String = "web") {
        self.ip = ip
        self.userAgent = userAgent.map { String($0.prefix(512)) }
        self.source = source
        self.actor = actor
    }

    /// An editor acting on a request the person made elsewhere (a reply, a call).
    public static let editor = RequestOrigin(ip: nil, userAgent: nil, source: "editor", actor: "cli")
}
