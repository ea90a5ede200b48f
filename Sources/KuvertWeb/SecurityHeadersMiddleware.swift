import HTTPTypes
import Hummingbird

/// Adds the headers every page needs: no sniffing, no framing, no referrer (links
/// carry tokens) and a content security policy that allows no scripts.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        // The embeddable form is made to sit in other sites' pages; nothing else may be framed.
        let embeddable = request.uri.path == "/form"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        if !embeddable { response.headers[.xFrameOptions] = "DENY" }
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; "
            + "frame-ancestors \(embeddable ? "*" : "'none'"); base-uri 'none'"
        return response
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
}
