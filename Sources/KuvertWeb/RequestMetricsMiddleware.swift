import Foundation
import Hummingbird
import KuvertCore
import Logging
import Prometheus

/// Counts every answered request by matched route, method and status. The
/// route is the pattern (`/confirm/{token}`), never the path, which holds tokens.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext
    let metrics: KuvertMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.httpRequest(route: Self.route(context), method: request.method.rawValue, status: response.status.code)
            return response
        } catch {
            // Errors that answer for themselves became responses inside
            // (`ErrorResponseMiddleware`); what still arrives here is a 500.
            metrics.httpRequest(route: Self.route(context), method: request.method.rawValue, status: 500)
            throw error
        }
    }

    private static func route(_ context: Context) -> String {
        guard let path = context.endpointPath else { return "unmatched" }
        return path.replacingOccurrences(of: ":token", with: "{token}")
    }
}
