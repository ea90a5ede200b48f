import Foundation

/// The API's bearer tokens, kept as hashes.
public protocol APITokenStore: Sendable {
    /// Stores a new token under `name`; audited as `api-token.created`.
    /// - Throws: `KuvertError.invalidInput` when an active token has that name.
    func createAPIToken(name: String, tokenHash: String, actor: String, now: Date) async throws -> APIToken
    /// Every token, active and revoked, oldest first.
    func apiTokens() async throws -> [APIToken]
    /// Revokes the active token of that name; false when there is none. Audited as `api-token.revoked`.
    func revokeAPIToken(name: String, actor: String, now: Date) async throws -> Bool
    /// The active token with this hash, if any.
    func activeAPIToken(hash: String) async throws -> APIToken?
}
