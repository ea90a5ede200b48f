import Hummingbird
import KuvertCore
import Logging

/// A failed API request: `{"error","message"}` with its status and any headers
/// it needs (`Retry-After`, `WWW-Authenticate`). Thrown by the API's handlers.
struct APIError: HTTPResponseError {
    let error: WebError
    var headers: HTTPFields = [:]

    var status: HTTPResponse.Status { error.status }

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.error = WebError(status: status, code: code, message: message)
        self.headers = headers
    }

    init(_ error: WebError) {
        self.error = error
    }

    /// The API's answer to a domain error: what names nothing is `404`, a
    /// change the campaign's state forbids `409`, a bad field `422`; nil for
    /// errors that are not the client's.
    init?(_ domain: KuvertError) {
        switch domain {
        case .unknownList, .noDefaultList:
            self.init(.notFound, "unknown_list", domain == .noDefaultList ? "This service has no list yet." : domain.description)
        case .unknownSubscriber:
            self.init(.notFound, "unknown_subscriber", domain.description)
        case .unknownCampaign:
            self.init(.notFound, "unknown_campaign", domain.description)
        case .campaignState:
            self.init(.conflict, "campaign_state", domain.description)
        case .invalidAddress:
            self.init(.unprocessableContent, "invalid_email", domain.description)
        case .invalidField:
            self.init(.unprocessableContent, "invalid_field", domain.description)
        case .listExists, .invalidSlug, .configuration, .apiTokenExists, .termsUnchanged, .termsChangeOpen:
            return nil
        }
    }

    static func rateLimited(retryAfter seconds: Int) -> APIError {
        var error = APIError(RequestLimits.tooMany(retryAfter: seconds))
        error.headers[.retryAfter] = String(seconds)
        return error
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.error(error)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// Turns what the API's handlers throw into `APIError`s: body problems and
/// domain errors by their meaning, anything else (the store is down) into a
/// `500` that says to try again, logged without the request's data.
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch let problem as FormFields.Problem {
            throw APIError(WebError(problem))
        } catch let domain as KuvertError {
            if let error = APIError(domain) { throw error }
            throw Self.internalError(domain, context: context)
        } catch {
            throw Self.internalError(error, context: context)
        }
    }

    private static func internalError(_ error: any Error, context: Context) -> APIError {
        context.logger.error("API request failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        return APIError(.internalServerError, "internal_error", "Kuvert could not complete the request; try again later.")
    }
}
