import Foundation
import Hummingbird
import KuvertCore
import Logging

/// The data-subject rights, self-service: `GET /privacy`, `POST /privacy/request`,
/// `GET /privacy/{token}`, `GET /privacy/{token}/export`, `POST /privacy/{token}/erase`,
/// `POST /privacy/{token}/restrict` and `/unrestrict`.
///
/// A link is mailed only to a known address, and the answer is the same
/// either way; a link names the subscriber and lives one hour.
struct PrivacyController: Sendable {
    let privacy: PrivacyService
    let pages: Pages
    let maximumBodyBytes: Int
    let resendWindow: TimeInterval
    let mailQueued: DelayedWake
    let limits: RequestLimits
    let answerFloor: AnswerFloor

    func register(on router: Router<KuvertRequestContext>) {
        router.get("privacy", use: form)
        router.post("privacy/request", use: request)
        router.get("privacy/:token", use: overview)
        router.get("privacy/:token/export", use: export)
        router.post("privacy/:token/erase", use: erase)
        router.post("privacy/:token/address", use: changeAddress)
        router.post("privacy/:token/restrict") { request, context in try await restrict(request, context, .restricted(reason: nil)) }
        router.post("privacy/:token/unrestrict") { request, context in try await restrict(request, context, .lifted) }
    }

    /// `POST /privacy/{token}/address`: field `email`, the person's new address.
    /// A link goes to it; the answer (after the answer floor) is the same
    /// whether the address can be used or belongs to someone already.
    @Sendable func changeAddress(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let token = context.token
        let language = request.pageLanguage
        if let wait = try await limits.client(context) {
            throw failure(RequestLimits.tooMany(retryAfter: wait), json: false, language: language, retryAfter: wait)
        }
        let email: String
        do {
            let fields = try await FormFields.read(request, limit: maximumBodyBytes)
            guard let value = fields["email"] else { throw KuvertError.invalidField(name: "email", reason: "is required") }
            email = value
        } catch let problem as FormFields.Problem {
            throw failure(WebError(problem), json: false, language: language)
        } catch let error as KuvertError {
            throw failure(WebError(error) ?? WebError(FormFields.Problem.malformed("\(error)")), json: false, language: language)
        }
        if let wait = try await limits.address(email) {
            throw failure(RequestLimits.tooMany(retryAfter: wait), json: false, language: language, retryAfter: wait)
        }
        let newAddress: EmailAddress
        do {
            newAddress = try EmailAddress(email)
        } catch {
            throw failure(WebError(KuvertError.invalidAddress(error)) ?? WebError(FormFields.Problem.malformed("")), json: false, language: language)
        }
        let export = try await pages.linkWorks(request, privacy: true) {
            try await privacy.changeAddress(token, to: newAddress, now: Date())
        }
        mailQueued.request()
        await answerFloor.wait(since: started)
        return try pages.privacy(export, token: token, language: Self.language(of: export, request), addressRequested: true)
    }

    /// `POST /privacy/{token}/restrict` and `/unrestrict`: the page again, saying where the person stands.
    private func restrict(_ request: Request, _ context: KuvertRequestContext, _ restriction: Restriction) async throws -> Response {
        let token = context.token
        _ = try? await request.body.collect(upTo: maximumBodyBytes)
        let export = try await pages.linkWorks(request, privacy: true) { try await privacy.restrict(token, restriction, now: Date()) }
        context.logger.info(restriction == .lifted ? "restriction lifted on request" : "restricted on request")
        return try pages.privacy(export, token: token, language: Self.language(of: export, request))
    }

    @Sendable func form(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        try pages.privacyRequest(sent: false, language: request.pageLanguage)
    }

    @Sendable func request(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let json = request.prefersJSON
        let language = request.pageLanguage
        if let wait = try await limits.client(context) {
            throw failure(RequestLimits.tooMany(retryAfter: wait), json: json, language: language, retryAfter: wait)
        }
        do {
            let fields = try await FormFields.read(request, limit: maximumBodyBytes)
            guard let email = fields["email"] else {
                throw KuvertError.invalidField(name: "email", reason: "is required")
            }
            if let wait = try await limits.address(email) {
                throw failure(RequestLimits.tooMany(retryAfter: wait), json: json, language: language, retryAfter: wait)
            }
            let address: EmailAddress
            do { address = try EmailAddress(email) } catch { throw KuvertError.invalidAddress(error) }
            let queued = try await privacy.requestLink(address, resendWindow: resendWindow, now: Date())
            // Known or not, the answer takes the same time.
            await answerFloor.wait(since: started)
            let response =
                json
                ? JSONResponse.make(["status": "sent"], status: .accepted) : try pages.privacyRequest(sent: true, language: language)
            if queued { mailQueued.request() }
            return response
        } catch let problem as FormFields.Problem {
            throw failure(WebError(problem), json: json, language: language)
        } catch let error as KuvertError {
            guard let webError = WebError(error) else { throw error }
            throw failure(webError, json: json, language: language)
        }
    }

    @Sendable func overview(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let (_, export) = try await pages.linkWorks(request, privacy: true) { try await privacy.held(token, now: Date()) }
        return try pages.privacy(export, token: token, language: Self.language(of: export, request))
    }

    @Sendable func export(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let export = try await pages.linkWorks(request, privacy: true) { try await privacy.export(token, actor: "web", now: Date()) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/json; charset=utf-8", .cacheControl: "no-store",
                .contentDisposition: "attachment; filename=\"kuvert-export.json\"",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: try export.json()))
        )
    }

    @Sendable func erase(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        _ = try? await request.body.collect(upTo: maximumBodyBytes)
        let language = try await pages.linkWorks(request, privacy: true) { try await privacy.erase(token, actor: "web", now: Date()) }
        context.logger.info("erased on request")
        return try pages.privacyErased(language: language ?? request.pageLanguage)
    }

    /// The failure to throw: JSON or the localised form error page.
    private func failure(_ error: WebError, json: Bool, language: Language, retryAfter: Int? = nil) -> PageError {
        PageError(error, json: json, language: language, retryAfter: retryAfter, pages: pages)
    }

    private static func language(of export: SubscriberExport, _ request: Request) -> Language {
        export.subscriptions.last.flatMap { Language(rawValue: $0.language) } ?? request.pageLanguage
    }
}
