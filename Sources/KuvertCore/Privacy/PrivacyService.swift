import Foundation

/// A person's own privacy link: asking for it, and token → person → what is
/// held, its export and erasure. One place for the pages and, later, the API.
public struct PrivacyService: Sendable {
    private let store: any PrivacyStore & PrivacyRequestStore & SubscriberStore & AddressChangeStore
    private let signer: TokenSigner
    private let suppression: SuppressionKey

    public init(
        store: any PrivacyStore & PrivacyRequestStore & SubscriberStore & AddressChangeStore,
        signer: TokenSigner,
        suppression: SuppressionKey
    ) {
        self.store = store
        self.signer = signer
        self.suppression = suppression
    }

    /// Queues a privacy link to `address` if it is known (once per resend
    /// window); true when a mail was queued. The caller answers the same either way.
    public func requestLink(_ address: EmailAddress, resendWindow: TimeInterval, now: Date) async throws -> Bool {
        try await store.requestPrivacyLink(address, resendWindow: resendWindow, now: now)
    }

    /// The address a privacy link names.
    /// - Throws: `ConfirmationService.LinkError`: `expired` for an old link,
    ///   `invalidLink` for anything not ours, `noLongerValid` when the person is gone.
    public func person(_ token: String, now: Date) async throws -> EmailAddress {
        let id: Int64
        do {
            id = try PrivacyLink.subscriberId(in: token, signer: signer, now: now)
        } catch .expired {
            throw ConfirmationService.LinkError.expired
        } catch {
            throw ConfirmationService.LinkError.invalidLink
        }
        guard let address = try await store.subscriberAddress(id: id) else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        return address
    }

    /// Everything held on the person a link names. Changes nothing.
    /// - Throws: `ConfirmationService.LinkError` as `person` does.
    public func held(_ token: String, now: Date) async throws -> (EmailAddress, SubscriberExport) {
        let address = try await person(token, now: now)
        guard let export = try await store.export(address, now: now) else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        return (address, export)
    }

    /// The export for the person a link names, with a `subscriber.exported` audit entry.
    public func export(_ token: String, actor: String, now: Date) async throws -> SubscriberExport {
        let (address, export) = try await held(token, now: now)
        _ = try await store.recordAudit(AuditEvent(occurredAt: now, actor: actor, action: "subscriber.exported"), address: address)
        return export
    }

    /// Restricts processing for the person a link names, or lifts the
    /// restriction (see `SubscriberStore.restrict`), and returns what is held
    /// on them now, for the page.
    /// - Throws: `ConfirmationService.LinkError` as `person` does.
    public func restrict(_ token: String, _ restriction: Restriction, now: Date) async throws -> SubscriberExport {
        let address = try await person(token, now: now)
        guard let id = try await store.subscriber(address: address)?.id else { throw ConfirmationService.LinkError.noLongerValid }
        _ = try await store.restrict(subscriberId: id, restriction, actor: "web", now: now)
        guard let export = try await store.export(address, now: now) else { throw ConfirmationService.LinkError.noLongerValid }
        return export
    }

    /// Asks for a new address for the person a link names: its owner gets a
    /// link to confirm it (see `AddressChangeStore.requestAddressChange`).
    /// Returns what is held on the person, for the page.
    /// - Throws: `ConfirmationService.LinkError` as `person` does.
    public func changeAddress(_ token: String, to newAddress: EmailAddress, now: Date) async throws -> SubscriberExport {
        let address = try await person(token, now: now)
        guard let id = try await store.subscriber(address: address)?.id else { throw ConfirmationService.LinkError.noLongerValid }
        try await store.requestAddressChange(subscriberId: id, to: newAddress, actor: "web", now: now)
        guard let export = try await store.export(address, now: now) else { throw ConfirmationService.LinkError.noLongerValid }
        return export
    }

    /// Erases the person a link names (see `PrivacyStore.erase`). Returns the
    /// language of their last subscription, for the page that says it is done.
    /// - Throws: `ConfirmationService.LinkError` as `person` does.
    public func erase(_ token: String, actor: String, now: Date) async throws -> Language? {
        let address = try await person(token, now: now)
        let language = try await store.export(address, now: now)?.subscriptions.last.flatMap { Language(rawValue: $0.language) }
        guard try await store.erase(address, suppressionHash: suppression.hash(address), actor: actor, now: now) else {
            throw ConfirmationService.LinkError.noLongerValid
        }
        return language
    }
}
