import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// `/api/v1/`: the same operations as the command line, for programs, through
/// the same Core services. Every route but the document needs
/// `Authorization: Bearer TOKEN` (`APIAuthentication`); `Templates/api/openapi.json`
/// describes them all, and a test holds the router and the document together.
struct APIController: Sendable {
    let store: any KuvertStore
    /// The same intake as the form: validation, double opt-in, never active at once.
    let intake: SubscriptionIntake
    /// The same import as `kuvert subscribers import`.
    let importer: CSVImport
    let suppression: SuppressionKey
    let limits: RequestLimits
    let document: APIDocument
    /// The largest JSON body (the subscription, the campaign's fields).
    let maximumBodyBytes: Int
    let mailQueued: DelayedWake

    /// The largest Markdown body of a campaign, and the largest CSV an import takes.
    static let maximumCampaignBytes = 1 << 20
    static let maximumImportBytes = 4 << 20

    func register(on router: Router<KuvertRequestContext>) {
        router.get("api/v1/openapi.json") { _, _ in document.response() }
        let api = router.group("api/v1")
            .add(middleware: APIErrorMiddleware())
            .add(middleware: APIAuthentication(tokens: store, limits: limits))
        api.get("lists") { _, _ -> Response in
            let summaries = try await store.listSummaries()
            return try APIJSON.response(APIAnswer.Lists(lists: summaries.map(APIAnswer.List.init)))
        }
        registerSubscribers(on: api)
        registerCampaigns(on: api)
        api.post("imports", use: importCSV)
    }

    /// `POST /api/v1/imports?list=SLUG`: a CSV body (`text/csv`), imported as
    /// `kuvert subscribers import` does: pending subscriptions and
    /// confirmation mails, never anyone active; answers what happened per line.
    @Sendable func importCSV(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        guard let slug = request.uri.queryParameters.get("list"), !slug.isEmpty else {
            throw APIError(.unprocessableContent, "invalid_field", "Name the list to import into: ?list=SLUG.")
        }
        guard let type = request.headers[.contentType], ["text/csv", "text/plain"].contains(FormFields.mediaType(type)) else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "Send the addresses as text/csv.")
        }
        let body = try await FormFields.body(request, limit: Self.maximumImportBytes)
        guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
            throw APIError(.badRequest, "malformed_body", "The CSV is not valid UTF-8.")
        }
        let report = try await importer.run(text, listSlug: slug, actor: context.apiActor, now: Date())
        if report.queued > 0 { mailQueued.request() }
        return try APIJSON.response(APIAnswer.Import(report))
    }
}

/// JSON answers of the API: sorted keys, ISO 8601 times, `no-store`.
enum APIJSON {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }
}
