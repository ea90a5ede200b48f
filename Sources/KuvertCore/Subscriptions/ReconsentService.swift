import Foundation

/// `/reconsent/{token}`: a subscriber accepts a list's new terms, with the
/// same proof as their first consent. The link names the subscription and the
/// change, and expires at the change's deadline.
public struct ReconsentService: Sendable {
    private let store: any TermsChangeStore
    private let signer: TokenSigner

    public init(store: any TermsChangeStore, signer: TokenSigner) {
        self.store = store
        self.signer = signer
    }

    public static func token(subscriptionId: Int64, change: TermsChange, signer: TokenSigner) -> String {
        signer.sign(Token(purpose: .reconsent, subject: "\(subscriptionId):\(change.id ?? 0)", expiresAt: change.deadline))
    }

    /// What the link shows. Changes nothing.
    /// - Throws: `ConfirmationService.LinkError`: `.expired` after the
    ///   deadline, `.noLongerValid` once the subscription ended.
    public func open(_ token: String, now: Date) async throws -> ReconsentContext {
        let (subscriptionId, changeId) = try claims(in: token, now: now)
        guard let context = try await store.reconsent(subscriptionId: subscriptionId, changeId: changeId) else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        _ = try context.standing()
        return context
    }

    /// Records the acceptance (once; a second post changes nothing).
    /// - Throws: `ConfirmationService.LinkError`, as `open`.
    public func accept(_ token: String, language: Language, origin: RequestOrigin, now: Date) async throws -> ReconsentContext {
        let (subscriptionId, changeId) = try claims(in: token, now: now)
        return try await store.acceptReconsent(
            subscriptionId: subscriptionId,
            changeId: changeId,
            language: language,
            origin: origin,
            now: now
        )
    }

    private func claims(in token: String, now: Date) throws(ConfirmationService.LinkError) -> (Int64, Int64) {
        let claims: Token
        do {
            claims = try signer.verify(token, purpose: .reconsent, now: now)
        } catch .expired {
            throw .expired
        } catch {
            throw .invalidLink
        }
        let parts = claims.subject.split(separator: ":")
        guard parts.count == 2, let subscription = Int64(parts[0]), let change = Int64(parts[1]) else { throw .invalidLink }
        return (subscription, change)
    }
}
