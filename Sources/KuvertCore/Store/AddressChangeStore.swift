import Foundation

/// A person's new address: kept beside the old one until its owner confirms
/// it through the link mailed to it, then used everywhere, with the consent
/// carried over.
public protocol AddressChangeStore: Sendable {
    /// Keeps `address` as the person's new address, waiting for its owner, and
    /// queues the mail with the confirmation link to it; an earlier change
    /// still waiting is replaced (its link stops working). Audited as
    /// `subscriber.address-requested`, naming no address.
    /// - Throws: `KuvertError.unknownSubscriber` for nobody or the erased.
    func requestAddressChange(subscriberId: Int64, to address: EmailAddress, actor: String, now: Date) async throws
    /// The change waiting for the person with this id, if any.
    func addressChange(subscriberId: Int64) async throws -> AddressChange?
    /// Applies the waiting change whose nonce this is, in one transaction: the
    /// address changes everywhere, each subscription gets a `rectified`
    /// ledger entry (naming no address), the old address a notice, the audit
    /// log `subscriber.address-changed`, the webhook `subscriber.updated` with
    /// the field `email`. When the new address belongs to someone else by
    /// then, nothing changes but the waiting change, which ends.
    func applyAddressChange(
        subscriberId: Int64,
        nonce: String,
        window: TimeInterval,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> AddressChangeOutcome
}

/// A new address waiting for its owner's confirmation.
public struct AddressChange: Sendable, Equatable {
    public var subscriberId: Int64
    public var newAddress: String
    public var nonce: String
    public var requestedAt: Date
    /// The address belongs to someone else (not erased): confirming changes nothing.
    public var taken: Bool
    /// The person's language, for the page that confirms it.
    public var language: Language?

    public init(subscriberId: Int64, newAddress: String, nonce: String, requestedAt: Date, taken: Bool, language: Language? = nil) {
        self.language = language
        self.subscriberId = subscriberId
        self.newAddress = newAddress
        self.nonce = nonce
        self.requestedAt = requestedAt
        self.taken = taken
    }

    /// The waiting change a subscriber's row holds, if any.
    public init?(_ subscriber: Subscriber, taken: Bool, language: Language? = nil) {
        guard let id = subscriber.id, let address = subscriber.newAddress, let nonce = subscriber.newAddressNonce,
            let requestedAt = subscriber.newAddressRequestedAt
        else { return nil }
        self.init(subscriberId: id, newAddress: address, nonce: nonce, requestedAt: requestedAt, taken: taken, language: language)
    }
}

/// What confirming a new address did.
public enum AddressChangeOutcome: Sendable, Equatable {
    /// The person's address is the new one now.
    case changed(newAddress: String)
    /// The new address belongs to someone else: nothing changed.
    case taken
    /// No such change is waiting (another replaced it, it was applied, or the person is gone).
    case noLongerValid
    /// The change waited longer than the window.
    case expired
}

/// Links to confirm a new address: the subscriber and the change's nonce, for
/// as long as a confirmation link lives.
public enum AddressLink {
    public static func token(for change: AddressChange, signer: TokenSigner, lifetime: TimeInterval) -> String {
        signer.sign(
            Token(
                purpose: .address,
                subject: "\(change.subscriberId):\(change.nonce)",
                expiresAt: change.requestedAt.addingTimeInterval(lifetime)
            )
        )
    }

    /// The subscriber id and nonce in a valid address link.
    /// - Throws: `ConfirmationService.LinkError`.
    public static func claims(
        in token: String,
        signer: TokenSigner,
        now: Date
    ) throws(ConfirmationService.LinkError)
        -> (subscriberId: Int64, nonce: String)
    {
        let claims: Token
        do {
            claims = try signer.verify(token, purpose: .address, now: now)
        } catch .expired {
            throw .expired
        } catch {
            throw .invalidLink
        }
        let parts = claims.subject.split(separator: ":")
        guard parts.count == 2, let id = Int64(parts[0]) else { throw .invalidLink }
        return (id, String(parts[1]))
    }
}
