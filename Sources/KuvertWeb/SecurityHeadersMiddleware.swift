import HTTPTypes
import Hummingbird

/// Adds the headers every page needs: no sniffing, no framing, no referrer (links
/// carry tokens) and a content security policy that allows no scripts.
///
/// The embeddable form (`/form`) and the answers to its posts
/// (`/subscribe?embedded=1`: the thanks page, the form error page with the form
/// again) are made to sit in the website's page: they may be framed by
/// `KUVERT_FRAME_ANCESTORS`. Nothing else may be framed.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let frameAncestors: String

    init(frameAncestors: [String] = ["*"]) {
        self.frameAncestors = frameAncestors.joined(separator: " ")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let embeddable = request.isEmbedded
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        if !embeddable { response.headers[.xFrameOptions] = "DENY" }
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; "
            + "frame-ancestors \(embeddable ? frameAncestors : "'none'"); base-uri 'none'"
        return response
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
}

extension Request {
    /// The embeddable form, or a post from it: a page for the website's frame.
    var isEmbedded: Bool {
        let path = uri.path
        return path == "/form" || (path == "/subscribe" && uri.queryParameters.get("embedded") == "1")
    }
}
