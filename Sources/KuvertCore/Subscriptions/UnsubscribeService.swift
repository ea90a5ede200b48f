import Foundation

/// The unsubscribe link in every newsletter: token → subscription → ended.
/// One place for the page, the RFC 8058 one-click POST and, later, the API.
public struct UnsubscribeService: Sendable {
    private let store: any SubscriptionStore
    private let signer: TokenSigner

    public init(store: any SubscriptionStore, signer: TokenSigner) {
        self.store = store
        self.signer = signer
    }

    /// The subscription a link names, with its list, for the page with one button. Changes nothing.
    /// - Throws: `ConfirmationService.LinkError.invalidLink` for a token that is no
    ///   unsubscribe link of ours or names no subscription.
    public func open(_ token: String, now: Date) async throws -> ConfirmationContext {
        guard let id = UnsubscribeLink.subscriptionId(in: token, signer: signer, now: now),
            let found = try await store.confirmationContext(subscriptionId: id)
        else { throw ConfirmationService.LinkError.invalidLink }
        return found
    }

    /// Ends the subscription the link names at once (harmless when it ended
    /// already): `unsubscribed`, a `withdrawn` consent entry, an audit entry.
    /// - Throws: `ConfirmationService.LinkError.invalidLink` as `open` does.
    public func unsubscribe(_ token: String, origin: RequestOrigin, now: Date) async throws -> SubscriptionAndList {
        guard let id = UnsubscribeLink.subscriptionId(in: token, signer: signer, now: now),
            let ended = try await store.unsubscribe(subscriptionId: id, origin: origin, now: now)
        else { throw ConfirmationService.LinkError.invalidLink }
        return ended
    }
}
