import Foundation

/// A person's own manage page: token → person → their lists, name and
/// language, and saving what they change there.
public struct ManageService: Sendable {
    private let store: any PreferenceStore
    private let signer: TokenSigner

    public init(store: any PreferenceStore, signer: TokenSigner) {
        self.store = store
        self.signer = signer
    }

    /// The page for the person a link names. Changes nothing.
    /// - Throws: `ConfirmationService.LinkError`: `invalidLink` for anything
    ///   not a manage link of ours, `noLongerValid` once the person is erased.
    public func open(_ token: String, now: Date) async throws -> Preferences {
        guard let preferences = try await store.preferences(subscriberId: try person(token, now: now)) else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        return preferences
    }

    /// Saves what the person posted and returns the page as it now is.
    /// - Throws: `ConfirmationService.LinkError` as `open` does; `KuvertError.unknownList`.
    public func save(
        _ token: String,
        _ change: PreferenceChange,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> (PreferenceOutcome, Preferences)
    {
        let id = try person(token, now: now)
        let outcome: PreferenceOutcome
        do {
            outcome = try await store.savePreferences(subscriberId: id, change, origin: origin, now: now)
        } catch KuvertError.unknownSubscriber {
            throw ConfirmationService.LinkError.noLongerValid
        }
        guard let preferences = try await store.preferences(subscriberId: id) else { throw ConfirmationService.LinkError.noLongerValid }
        return (outcome, preferences)
    }

    private func person(_ token: String, now: Date) throws(ConfirmationService.LinkError) -> Int64 {
        do {
            return try ManageLink.subscriberId(in: token, signer: signer, now: now)
        } catch {
            throw .invalidLink
        }
    }
}
