import Foundation
import Hummingbird
import KuvertCore

extension APIController {
    /// Campaigns: list (newest first, a page at a time), create, look, send.
    func registerCampaigns(on api: RouterGroup<KuvertRequestContext>) {
        api.get("campaigns") { request, _ -> Response in
            let query = request.uri.queryParameters
            let limit = try Self.integer(query.get("limit"), name: "limit", in: 1...100) ?? 20
            let before = try Self.integer(query.get("before"), name: "before", in: 1...Int64.max)
            let page = try await store.campaignProgress(id: nil, before: before, limit: Int(limit) + 1, now: Date())
            let shown = page.prefix(Int(limit))
            return try APIJSON.response(
                APIAnswer.Campaigns(
                    campaigns: shown.map { APIAnswer.Campaign($0, markdown: false) },
                    nextBefore: page.count > shown.count ? shown.last?.campaign.id : nil
                )
            )
        }
        api.post("campaigns") { request, context -> Response in
            let fields = try await FormFields.readJSON(request, limit: Self.maximumCampaignBytes, allowed: ["list", "subject", "markdown"])
            guard let list = fields["list"], !list.isEmpty else {
                throw KuvertError.invalidField(name: "list", reason: "is required: the slug of the list to send to")
            }
            let draft = try Campaign.draft(subject: fields["subject"] ?? "", markdown: fields["markdown"] ?? "", now: Date())
            let created = try await store.createCampaign(draft, listSlug: list, actor: context.apiActor)
            let id = created.id ?? 0
            var response = try APIJSON.response(try await progress(id), status: .created)
            response.headers[.location] = "/api/v1/campaigns/\(id)"
            return response
        }
        api.get("campaigns/:id") { _, context -> Response in
            try APIJSON.response(try await progress(try Self.campaignID(context)))
        }
        api.post("campaigns/:id/send") { request, context -> Response in
            let id = try Self.campaignID(context)
            let sendAt = try await Self.sendTime(request) ?? Date()
            let queued = try await store.queueCampaign(
                id: id,
                sendAt: sendAt,
                now: Date(),
                batchSize: Campaign.queueBatchSize,
                actor: context.apiActor
            )
            if queued > 0 { mailQueued.request() }
            return try APIJSON.response(APIAnswer.Queued(queued: queued, campaign: try await progress(id)), status: .accepted)
        }
    }

    /// The campaign as the API shows it, with its Markdown and counts.
    private func progress(_ id: Int64) async throws -> APIAnswer.Campaign {
        guard let found = try await store.campaignProgress(id: id, now: Date()).first else { throw KuvertError.unknownCampaign(id) }
        return APIAnswer.Campaign(found, markdown: true)
    }

    /// `{"at": RFC 3339 time}` from an optional JSON body; nil for an empty body or no `at`.
    private static func sendTime(_ request: Request) async throws -> Date? {
        let body = Array(try await FormFields.body(request, limit: 4096).readableBytesView)
        if body.isEmpty { return nil }
        guard FormFields.encoding(of: request) == .json else { throw FormFields.Problem.unsupportedMediaType }
        guard let at = try FormFields.json(body, allowed: ["at"])["at"] else { return nil }
        guard let date = InternetTime.parse(at) else {
            throw KuvertError.invalidField(name: "at", reason: "must be an RFC 3339 time such as 2026-12-01T08:00:00Z")
        }
        return date
    }

    private static func campaignID(_ context: KuvertRequestContext) throws -> Int64 {
        guard let id = try integer(context.parameters.get("id"), name: "id", in: 1...Int64.max) else {
            throw KuvertError.invalidField(name: "id", reason: "is required")
        }
        return id
    }

    /// A whole number in `range` from a query or path parameter; nil when absent.
    private static func integer(_ text: String?, name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw KuvertError.invalidField(name: name, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
