import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `POST /subscribe`: the intake endpoint website forms post to.
///
/// Every valid request gets the same answer whatever the address's state, so the
/// endpoint cannot be used to learn who subscribes.
struct SubscribeController: Sendable {
    let intake: SubscriptionIntake
    let pages: Pages
    let maximumBodyBytes: Int
    /// Wakes a mailer in this process, a moment after the answer.
    let mailQueued: DelayedWake
    let limits: RequestLimits
    let renderTime: FormRenderTime
    let metrics: KuvertMetrics
    let answerFloor: AnswerFloor
    /// The lists a form offers a box for.
    let lists: any ListStore

    func register(on router: Router<KuvertRequestContext>) {
        router.post("subscribe", use: subscribe)
        router.get("form", use: embeddableForm)
    }

    /// `GET /form?list=SLUG&locale=sv`: the subscription form to embed in a
    /// website (an iframe, or fetched by the site's server), with the honeypot
    /// and a signed render time. With `list` named more than once (up to 10),
    /// a box per list, none ticked: the person picks.
    @Sendable func embeddableForm(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let slugs = request.uri.queryParameters.getAll("list").map { String($0) }.filter(MailingList.isValidSlug)
        let language = request.uri.queryParameters.get("locale").flatMap { Language(tag: $0) } ?? request.pageLanguage
        var choices: [MailingList] = []
        if slugs.count > 1 {
            for slug in slugs.prefix(SubscribeForm.maximumLists) where !choices.contains(where: { $0.slug == slug }) {
                if let list = try? await lists.mailingList(slug: slug) { choices.append(list) }
            }
        }
        return try pages.embeddableForm(
            listSlug: choices.count > 1 ? nil : slugs.first,
            choices: choices.count > 1 ? choices : [],
            rendered: renderTime.token(renderedAt: Date()),
            language: language
        )
    }

    @Sendable func subscribe(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let browserLanguage = request.browserLanguage
        let answersJSON = request.prefersJSON
        // Posted from the embeddable form: the answer shows in the website's frame.
        let embedded = request.isEmbedded
        var fields: FormFields?
        if let wait = try await limits.client(context) {
            metrics.subscription("rate_limited")
            throw failure(
                RequestLimits.tooMany(retryAfter: wait),
                json: answersJSON,
                fields: nil,
                language: browserLanguage,
                embedded: embedded,
                retryAfter: wait
            )
        }
        do {
            fields = try await FormFields.read(request, limit: maximumBodyBytes, repeatable: ["list"])
            guard let fields else { throw FormFields.Problem.malformed("The body is missing.") }
            if let email = fields["email"], let wait = try await limits.address(email) {
                metrics.subscription("rate_limited")
                throw failure(
                    RequestLimits.tooMany(retryAfter: wait),
                    json: answersJSON,
                    fields: fields,
                    language: browserLanguage,
                    embedded: embedded,
                    retryAfter: wait
                )
            }
            let lists = fields.all("list")
            if fields["choose"] == "yes" && lists.isEmpty {
                throw KuvertError.invalidField(name: "list", reason: "is not ticked: choose at least one list")
            }
            if fields.contains("list") && lists.isEmpty {
                throw KuvertError.invalidField(name: "list", reason: "is an empty list: name a list, or leave the field out for the default list")
            }
            let form = SubscribeForm(
                email: fields["email"],
                list: lists.first,
                moreLists: Array(lists.dropFirst()),
                name: fields["name"],
                locale: fields["locale"],
                website: fields["website"],
                looksHuman: renderTime.looksHuman(fields["rendered"], now: Date())
            )
            let origin = RequestOrigin(
                ip: context.clientIP,
                userAgent: request.headers[.userAgent],
                source: fields.encoding == .json ? "api" : "form"
            )
            let receipt = try await intake.submit(
                form,
                preferredLanguage: browserLanguage,
                origin: origin,
                actor: "web",
                now: Date()
            )
            if case .confirmationQueued = receipt.outcome { mailQueued.request() }
            metrics.subscription(Self.describe(receipt.outcome))
            context.logger.info(
                "subscription request",
                metadata: [
                    "list": .string(receipt.list.slug), "outcome": .string(Self.describe(receipt.outcome)),
                ]
            )
            // Whatever the address's state, the answer takes the same time.
            await answerFloor.wait(since: started)
            let response: Response
            if answersJSON {
                response = JSONResponse.pending()
            } else if let thanksURL = receipt.list.thanksURL, !embedded {
                response = Response(status: .seeOther, headers: [.location: thanksURL, .cacheControl: "no-store"])
            } else {
                // In a frame the thanks page, not the website's own page inside itself.
                response = try pages.thanks(list: receipt.list, language: receipt.language, embedded: embedded)
            }
            return response
        } catch let problem as FormFields.Problem {
            metrics.subscription("invalid")
            throw failure(WebError(problem), json: answersJSON, fields: fields, language: browserLanguage, embedded: embedded)
        } catch let error as KuvertError {
            guard let webError = WebError(error) else { throw error }
            metrics.subscription("invalid")
            throw failure(webError, json: answersJSON, fields: fields, language: browserLanguage, embedded: embedded)
        }
    }

    /// The failure to throw: it renders JSON or the localised form error page itself.
    private func failure(
        _ error: WebError,
        json: Bool,
        fields: FormFields?,
        language: Language?,
        embedded: Bool,
        retryAfter: Int? = nil
    ) -> PageError {
        PageError(
            error,
            json: json,
            language: fields?["locale"].flatMap { Language(tag: $0) } ?? language ?? .en,
            email: fields?["email"],
            name: fields?["name"],
            listSlug: fields?.all("list").first,
            embedded: embedded,
            retryAfter: retryAfter,
            pages: pages
        )
    }

    private static func describe(_ outcome: IntakeOutcome?) -> String {
        switch outcome {
        case .confirmationQueued: "confirmation_queued"
        case .alreadyPending: "already_pending"
        case .alreadyActive: "already_active"
        case nil: "ignored"
        }
    }
}
