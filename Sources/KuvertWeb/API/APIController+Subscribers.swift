import Foundation
import Hummingbird
import KuvertCore

extension APIController {
    /// Starting double opt-in, and one person's data: look, export, erase.
    func registerSubscribers(on api: RouterGroup<KuvertRequestContext>) {
        api.post("subscriptions", use: subscribe)
        api.get("subscribers/:email") { _, context -> Response in try await answer(for: context) }
        api.get("subscribers/:email/export") { _, context -> Response in
            let address = try Self.address(context)
            guard let export = try await store.export(address, now: Date()) else { throw KuvertError.unknownSubscriber }
            _ = try await store.recordAudit(
                AuditEvent(occurredAt: Date(), actor: context.apiActor, action: "subscriber.exported"),
                address: address
            )
            return try APIJSON.response(export)
        }
        api.patch("subscribers/:email", use: rectify)
        api.post("subscribers/:email/restriction", use: restrict)
        api.delete("subscribers/:email/restriction") { _, context -> Response in
            let subscriber = try await livingSubscriber(context)
            _ = try await store.restrict(subscriberId: subscriber, .lifted, actor: context.apiActor, now: Date())
            return try await answer(for: context)
        }
        api.delete("subscribers/:email") { _, context -> Response in
            let address = try Self.address(context)
            guard try await store.erase(address, suppressionHash: suppression.hash(address), actor: context.apiActor, now: Date())
            else { throw KuvertError.unknownSubscriber }
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
    }

    /// `POST /api/v1/subscriptions`: `{"email","list","name","locale"}` starts
    /// the double opt-in, as the form does, and answers `202` whatever the
    /// address's state; the consent ledger's source names the token. The
    /// per-address rate limit of the form holds here too.
    @Sendable func subscribe(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let fields = try await FormFields.readJSON(
            request,
            limit: maximumBodyBytes,
            allowed: ["email", "list", "name", "locale"],
            repeatable: ["list"]
        )
        let lists = fields.all("list")
        if lists.contains(where: \.isEmpty) || (fields.contains("list") && lists.isEmpty) {
            throw KuvertError.invalidField(name: "list", reason: "is empty: name a list, or leave the field out for the default list")
        }
        if let locale = fields["locale"], locale.wholeMatch(of: /[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8}){0,3}/) == nil {
            throw KuvertError.invalidField(name: "locale", reason: "must be a language tag such as sv or en-GB")
        }
        if let email = fields["email"], let wait = try await limits.address(email) { throw APIError.rateLimited(retryAfter: wait) }
        let form = SubscribeForm(
            email: fields["email"],
            list: lists.first,
            moreLists: Array(lists.dropFirst()),
            name: fields["name"],
            locale: fields["locale"]
        )
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: context.apiActor)
        let receipt = try await intake.submit(form, preferredLanguage: nil, origin: origin, actor: context.apiActor, now: Date())
        if case .confirmationQueued = receipt.outcome { mailQueued.request() }
        return JSONResponse.pending()
    }

    /// `PATCH /api/v1/subscribers/{email}`: `{"name","locale","email"}`
    /// corrects the person's name or language on every list (an empty name
    /// removes it); a new `email` gets a link and is used once its owner
    /// confirms it. Answers the subscriber as they now are (the new address
    /// as `pendingEmail` until then).
    @Sendable func rectify(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let fields = try await FormFields.readJSON(request, limit: maximumBodyBytes, allowed: ["name", "locale", "email"])
        guard fields["name"] != nil || fields["locale"] != nil || fields["email"] != nil else {
            throw KuvertError.invalidField(name: "name", reason: "locale or email is required: nothing to change")
        }
        let change = try Rectification.validated(name: fields["name"], locale: fields["locale"])
        var newAddress: EmailAddress?
        if let email = fields["email"] {
            do {
                newAddress = try EmailAddress(email)
            } catch {
                throw KuvertError.invalidAddress(error)
            }
        }
        let subscriber = try await livingSubscriber(context)
        _ = try await store.rectify(subscriberId: subscriber, change, actor: context.apiActor, now: Date())
        if let newAddress {
            try await store.requestAddressChange(subscriberId: subscriber, to: newAddress, actor: context.apiActor, now: Date())
            mailQueued.request()
        }
        return try await answer(for: context)
    }

    /// `POST /api/v1/subscribers/{email}/restriction`: `{"reason"}` (or no
    /// body) restricts processing; nothing is mailed to the person until
    /// `DELETE` on the same path. Answers the subscriber as they now are.
    @Sendable func restrict(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let fields: FormFields? =
            request.headers[.contentType] == nil && request.headers[.contentLength].flatMap(Int.init) ?? 0 == 0
            ? nil : try await FormFields.readJSON(request, limit: maximumBodyBytes, allowed: ["reason"])
        let reason = try Restriction.validReason(fields?["reason"])
        let subscriber = try await livingSubscriber(context)
        _ = try await store.restrict(subscriberId: subscriber, .restricted(reason: reason), actor: context.apiActor, now: Date())
        return try await answer(for: context)
    }

    /// The id of the person the path names, unless erased.
    /// - Throws: `KuvertError.invalidAddress`, `.unknownSubscriber`.
    private func livingSubscriber(_ context: KuvertRequestContext) async throws -> Int64 {
        guard let id = try await store.subscriber(address: try Self.address(context))?.id else { throw KuvertError.unknownSubscriber }
        return id
    }

    /// The person the path names, as `GET` answers them.
    private func answer(for context: KuvertRequestContext) async throws -> Response {
        guard let record = try await store.subscriberRecord(address: try Self.address(context)) else { throw KuvertError.unknownSubscriber }
        return try APIJSON.response(APIAnswer.Subscriber(record))
    }

    /// The address in the path.
    /// - Throws: `KuvertError.invalidAddress` (`422`) when it is none.
    static func address(_ context: KuvertRequestContext) throws -> EmailAddress {
        let raw = context.parameters.get("email").flatMap { $0.removingPercentEncoding } ?? ""
        do {
            return try EmailAddress(raw)
        } catch {
            throw KuvertError.invalidAddress(error)
        }
    }
}
