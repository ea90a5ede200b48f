import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `GET` and `POST /address/{token}`: the owner of a new address confirms it.
/// GET shows what will change and changes nothing; the POST applies it.
struct AddressController: Sendable {
    let addresses: AddressChangeService
    let pages: Pages
    let maximumBodyBytes: Int
    /// Wakes the mailer for the notice to the old address.
    let mailQueued: DelayedWake

    func register(on router: Router<KuvertRequestContext>) {
        router.get("address/:token", use: show)
        router.post("address/:token", use: confirm)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let change = try await pages.linkWorks(request) { try await addresses.open(token, now: Date()) }
        return try pages.address(change, token: token, language: change.language ?? request.pageLanguage)
    }

    @Sendable func confirm(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        _ = try? await request.body.collect(upTo: maximumBodyBytes)
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: "address-change", actor: "web")
        let waiting = try await pages.linkWorks(request) { try await addresses.open(token, now: Date()) }
        let language = waiting.language ?? request.pageLanguage
        let outcome = try await pages.linkWorks(request) { try await addresses.confirm(token, origin: origin, now: Date()) }
        mailQueued.request()
        context.logger.info("address change confirmed", metadata: ["outcome": .string(outcome == .taken ? "taken" : "changed")])
        switch outcome {
        case .changed(let address):
            return try pages.address(
                AddressChange(subscriberId: 0, newAddress: address, nonce: "", requestedAt: Date(), taken: false),
                token: token,
                changed: true,
                language: language
            )
        default:
            return try pages.address(nil, token: token, taken: true, language: language)
        }
    }
}
