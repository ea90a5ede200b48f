import Hummingbird
import KuvertCore
import Logging

/// A failure that answers for itself: JSON (`{"error","message"}`) for JSON
/// clients, the localised page otherwise. Controllers throw it; Hummingbird
/// asks it for its response.
struct PageError: HTTPResponseError {
    /// Which page a person sees.
    enum Page: Sendable {
        /// The form error page, offering the form again with what was typed.
        case form(email: String?, name: String?, listSlug: String?, embedded: Bool)
        /// A link that is invalid, expired or no longer valid.
        case link(ConfirmationService.LinkError, privacy: Bool)
    }

    let error: WebError
    let page: Page
    let json: Bool
    let language: Language
    var retryAfter: Int?
    let pages: Pages

    var status: HTTPResponse.Status { error.status }

    /// A failed form post.
    init(
        _ error: WebError,
        json: Bool,
        language: Language,
        email: String? = nil,
        name: String? = nil,
        listSlug: String? = nil,
        embedded: Bool = false,
        retryAfter: Int? = nil,
        pages: Pages
    ) {
        self.error = error
        self.page = .form(email: email, name: name, listSlug: listSlug, embedded: embedded)
        self.json = json
        self.language = language
        self.retryAfter = retryAfter
        self.pages = pages
    }

    /// A link that does not work (always a page: links are opened in browsers).
    init(link: ConfirmationService.LinkError, privacy: Bool = false, language: Language, pages: Pages) {
        let status: HTTPResponse.Status = link == .invalidLink ? .badRequest : .gone
        self.error = WebError(status: status, code: link == .invalidLink ? "invalid_link" : "expired_link", message: "\(link)")
        self.page = .link(link, privacy: privacy)
        self.json = false
        self.language = language
        self.pages = pages
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response: Response
        switch page {
        case _ where json:
            response = JSONResponse.error(error)
        case .form(let email, let name, let listSlug, let embedded):
            response = try pages.formError(
                error,
                email: email,
                name: name,
                listSlug: listSlug,
                language: language,
                embedded: embedded
            )
        case .link(let link, let privacy):
            response = try pages.linkError(link, privacy: privacy, language: language)
        }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}

extension Pages {
    /// What `work` returns; a link that does not work (`ConfirmationService.LinkError`)
    /// becomes a `PageError` that shows its page.
    func linkWorks<T>(_ request: Request, privacy: Bool = false, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as ConfirmationService.LinkError {
            throw PageError(link: error, privacy: privacy, language: request.pageLanguage, pages: self)
        }
    }
}

extension Request {
    /// The language of pages for this request when nothing else decides: the
    /// browser's, else English.
    var pageLanguage: Language { browserLanguage ?? .en }
}

extension KuvertRequestContext {
    /// The route's `{token}`; empty when missing (which no token verifies).
    var token: String { parameters.get("token") ?? "" }
}

/// Turns a thrown `HTTPResponseError` (a `PageError`, Hummingbird's own) into
/// its response inside the middleware chain, so the outer middleware (security
/// headers, metrics, early answers) and the router's `HEAD` handling see an
/// ordinary response. Added last, so it sits innermost.
///
/// Any other error is a request Kuvert could not serve. When the store says
/// it is its own (a full disk, a file it cannot write, a server that is down):
/// `503` with `Retry-After`, the usual error body or a page, `/healthz`
/// failing meanwhile, one log line per kind of failure. Otherwise (a bug):
/// `500` with the usual body, logged without the error's text (a database
/// error quotes a statement's arguments).
struct ErrorResponseMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext
    let store: any StoreHealth
    let availability: StoreAvailability
    /// Nil on a listener without pages (the worker's metrics): JSON only.
    let pages: Pages?
    /// Seconds a client is told to wait before sending the request again.
    static let retryAfter = 30

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        } catch let error as CancellationError where Task.isCancelled {
            // The request itself was cancelled (its connection is gone): nobody to answer.
            throw error
        } catch {
            let route = context.endpointPath ?? "unmatched"
            var response: Response
            if let failure = store.unavailability(of: error) {
                availability.failed(failure, route: route)
                let web = WebError(
                    status: .serviceUnavailable,
                    code: "store_unavailable",
                    message: "Kuvert cannot save anything right now, so the request was not saved: send it again in \(Self.retryAfter) seconds."
                )
                response = try answer(web, to: request, page: "unavailable")
                response.headers[.retryAfter] = String(Self.retryAfter)
            } else {
                context.logger.error("request failed", metadata: ["route": "\(route)", "errorType": "\(type(of: error))"])
                let web = WebError(
                    status: .internalServerError,
                    code: "internal_error",
                    message: "Something went wrong on our side and the request was not completed; it has been logged."
                )
                response = try answer(web, to: request, page: nil)
            }
            return response
        }
    }

    /// JSON for the API and JSON clients, a page in the browser's language otherwise.
    private func answer(_ error: WebError, to request: Request, page: String?) throws -> Response {
        guard let pages, !request.uri.path.hasPrefix("/api/"), !request.prefersJSON else {
            return JSONResponse.error(error)
        }
        if let page {
            return try pages.problem(page, status: error.status, language: request.pageLanguage)
        }
        return try pages.formError(error, email: nil, listSlug: nil, language: request.pageLanguage)
    }
}
