import Foundation

/// A new address for a person, from the privacy page, an editor or a
/// program: asked for, mailed to, and used only once its owner confirms.
public struct AddressChangeService: Sendable {
    private let store: any AddressChangeStore
    private let signer: TokenSigner
    private let lifetime: TimeInterval

    /// - Parameter lifetime: how long a confirmation link lives (`KUVERT_CONFIRM_TTL`).
    public init(store: any AddressChangeStore, signer: TokenSigner, lifetime: TimeInterval) {
        self.store = store
        self.signer = signer
        self.lifetime = lifetime
    }

    /// The change a link stands for, still waiting. Changes nothing.
    /// - Throws: `ConfirmationService.LinkError`.
    public func open(_ token: String, now: Date) async throws -> AddressChange {
        let (id, nonce) = try AddressLink.claims(in: token, signer: signer, now: now)
        guard let change = try await store.addressChange(subscriberId: id), change.nonce == nonce else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        guard now.timeIntervalSince(change.requestedAt) < lifetime else { throw ConfirmationService.LinkError.expired }
        return change
    }

    /// Applies the change a link stands for.
    /// - Throws: `ConfirmationService.LinkError`.
    public func confirm(_ token: String, origin: RequestOrigin, now: Date) async throws -> AddressChangeOutcome {
        let (id, nonce) = try AddressLink.claims(in: token, signer: signer, now: now)
        switch try await store.applyAddressChange(subscriberId: id, nonce: nonce, window: lifetime, origin: origin, now: now) {
        case .noLongerValid: throw ConfirmationService.LinkError.noLongerValid
        case .expired: throw ConfirmationService.LinkError.expired
        case let outcome: return outcome
        }
    }
}
