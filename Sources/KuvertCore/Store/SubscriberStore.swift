import Foundation

/// Changes to a person after their consent, by themselves (the privacy and
/// manage pages), editors (`kuvert subscribers`) or programs (the API):
/// rectification and restriction of processing. Each change is audited under
/// its actor and reported to the webhook in the transaction that makes it.
public protocol SubscriberStore: Sendable {
    /// The person with this address, unless erased.
    func subscriber(address: EmailAddress) async throws -> Subscriber?
    /// The person with this id, unless erased.
    func subscriber(id: Int64) async throws -> Subscriber?
    /// Restricts processing, or lifts the restriction. Restricting skips the
    /// person's queued mail as `restricted` (a privacy link they asked for
    /// still goes). Audited as `subscriber.restricted`/`.unrestricted`; the
    /// webhook hears the same once per subscription.
    /// - Returns: false when the person was already so (nothing changed).
    /// - Throws: `KuvertError.unknownSubscriber` for nobody or the erased.
    func restrict(subscriberId: Int64, _ restriction: Restriction, actor: String, now: Date) async throws -> Bool
    /// Corrects the person's name or language on every subscription they have.
    /// Audited as `subscriber.rectified` and reported as `subscriber.updated`,
    /// both naming the fields that changed, never a value.
    /// - Returns: the names of the fields that changed (`name`, `locale`);
    ///   empty when the values were already so.
    /// - Throws: `KuvertError.unknownSubscriber` for nobody or the erased.
    func rectify(subscriberId: Int64, _ change: Rectification, actor: String, now: Date) async throws -> [String]
}

/// Restriction of processing (GDPR Art. 18) asked for, or ended.
public enum Restriction: Sendable, Equatable {
    case restricted(reason: String?)
    case lifted

    /// A reason of at most 200 characters on one line; nil when empty.
    /// - Throws: `KuvertError.invalidField`.
    public static func validReason(_ raw: String?) throws -> String? {
        guard let reason = raw?.trimmingCharacters(in: .whitespaces), !reason.isEmpty else { return nil }
        guard reason.count <= 200, !reason.unicodeScalars.contains(where: \.isControlCharacter) else {
            throw KuvertError.invalidField(name: "reason", reason: "must be at most 200 characters on one line")
        }
        return reason
    }
}

/// A correction of what Kuvert holds on a person: nil leaves a field as it is.
public struct Rectification: Sendable, Equatable {
    /// The new name; empty removes it.
    public var name: String?
    public var language: Language?

    public init(name: String? = nil, language: Language? = nil) {
        self.name = name
        self.language = language
    }

    /// A correction from what a person, editor or program typed: the name
    /// checked as the subscription form checks it, the language `sv` or `en`.
    /// - Throws: `KuvertError.invalidField`.
    public static func validated(name: String?, locale: String?) throws -> Rectification {
        var change = Rectification()
        if let name {
            change.name = try SubscriptionIntake.validName(name) ?? ""
        }
        if let locale {
            guard let language = Language(rawValue: locale.lowercased()) else {
                throw KuvertError.invalidField(name: "locale", reason: "must be sv or en")
            }
            change.language = language
        }
        return change
    }

    /// The fields whose values differ from a subscription's.
    public func changes(from subscription: Subscription) -> [String] {
        var fields: [String] = []
        if let name, (subscription.name ?? "") != name { fields.append("name") }
        if let language, subscription.language != language { fields.append("locale") }
        return fields
    }
}
