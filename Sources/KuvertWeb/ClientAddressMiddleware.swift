import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// Works out the client's address once per request: `X-Forwarded-For` counts
/// only when the peer is one of `KUVERT_TRUSTED_PROXIES`.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.resolvedClientIP = proxies.clientAddress(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[.xForwardedFor]
        )
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
