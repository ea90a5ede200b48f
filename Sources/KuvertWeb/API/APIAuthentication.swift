import Foundation
import Hummingbird
import KuvertCore

/// Checks `Authorization: Bearer TOKEN` (the scheme in any case) against the
/// stored hashes. A missing, malformed, unknown or revoked token gets the same
/// `401` with `WWW-Authenticate: Bearer`, and the request goes no further; a
/// token over its rate limit gets `429` with `Retry-After`.
struct APIAuthentication: RouterMiddleware {
    typealias Context = KuvertRequestContext
    let tokens: any APITokenStore
    let limits: RequestLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = try await authenticated(request) else {
            throw APIError(
                .unauthorized,
                "unauthorized",
                "This route needs Authorization: Bearer TOKEN (kuvert api-token create).",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        if let wait = try await limits.token(token.name) { throw APIError.rateLimited(retryAfter: wait) }
        var context = context
        context.apiToken = token.name
        return try await next(request, context)
    }

    private func authenticated(_ request: Request) async throws -> APIToken? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard secret.hasPrefix("kuvert_"), secret.count <= 128 else { return nil }
        guard let token = try await tokens.activeAPIToken(hash: APIToken.hash(secret)), token.matches(secret) else { return nil }
        return token
    }
}

extension KuvertRequestContext {
    /// Who acts in the audit log and the consent ledger: `api:NAME`, the token's name.
    var apiActor: String { "api:" + (apiToken ?? "?") }
}
