import Foundation

/// The confirmation step of double opt-in: links that show a list's terms and
/// activate a subscription only when the person accepts them.
public struct ConfirmationService: Sendable {
    /// Why a confirmation link cannot be used. The web layer answers `invalidLink`
    /// with 400 and the others with 410.
    public enum LinkError: Error, Equatable, Sendable {
        /// Not a confirmation link of ours.
        case invalidLink
        /// The link or the pending subscription has expired.
        case expired
        /// The subscription ended or was requested anew with a newer link.
        case noLongerValid
    }

    /// What happened when the person answered the terms page.
    public enum Answer: Sendable, Equatable {
        /// Active now.
        case confirmed(ConfirmationContext)
        /// Active before this answer; nothing changed.
        case alreadyActive(ConfirmationContext)
        /// Terms were not accepted or changed meanwhile: show the page again.
        case termsRequired(ConfirmationContext)
    }

    private let store: any SubscriptionStore
    private let signer: TokenSigner
    private let confirmTTL: TimeInterval

    public init(store: any SubscriptionStore, signer: TokenSigner, confirmTTL: TimeInterval) {
        self.store = store
        self.signer = signer
        self.confirmTTL = confirmTTL
    }

    /// The confirmation token for a pending subscription, valid for the confirm
    /// window from its latest request.
    public func token(for subscription: Subscription) -> String {
        Self.token(for: subscription, signer: signer, confirmTTL: confirmTTL)
    }

    static func token(for subscription: Subscription, signer: TokenSigner, confirmTTL: TimeInterval) -> String {
        let id = subscription.id.map(String.init) ?? "0"
        return signer.sign(
            Token(
                purpose: .confirm,
                subject: id + ":" + subscription.confirmNonce,
                expiresAt: subscription.requestedAt.addingTimeInterval(confirmTTL)
            )
        )
    }

    /// The subscription, list and current terms behind a link. Changes nothing.
    /// - Throws: `LinkError`.
    public func open(_ token: String, now: Date) async throws -> ConfirmationContext {
        let (id, nonce) = try claims(of: token, now: now)
        guard let context = try await store.confirmationContext(subscriptionId: id),
            context.subscription.confirmNonce == nonce
        else { throw LinkError.noLongerValid }
        switch context.subscription.status {
        case .active:
            return context
        case .unsubscribed, .bounced, .lapsed:
            throw LinkError.noLongerValid
        case .pending:
            guard now.timeIntervalSince(context.subscription.requestedAt) < confirmTTL else { throw LinkError.expired }
            return context
        }
    }

    /// Records the person's answer to the terms page.
    ///
    /// Accepting activates the subscription and writes a `confirmed` consent entry
    /// with the terms version and hash, time, IP and user agent (one transaction).
    /// - Parameters:
    ///   - accepted: whether the `accept_terms` box was ticked.
    ///   - termsVersion: the version the page showed, when it said.
    /// - Throws: `LinkError`.
    public func answer(
        _ token: String,
        accepted: Bool,
        termsVersion: Int?,
        origin: RequestOrigin,
        now: Date
    ) async throws -> Answer {
        guard accepted else { return .termsRequired(try await open(token, now: now)) }
        let (id, nonce) = try claims(of: token, now: now)
        let acceptance = TermsAcceptance(
            subscriptionId: id,
            nonce: nonce,
            termsVersion: termsVersion,
            origin: origin,
            confirmWindow: confirmTTL
        )
        switch try await store.confirm(acceptance, now: now) {
        case .confirmed(let context): return .confirmed(context)
        case .alreadyActive(let context): return .alreadyActive(context)
        case .termsChanged(let context): return .termsRequired(context)
        case .superseded, .ended: throw LinkError.noLongerValid
        case .expired: throw LinkError.expired
        }
    }

    /// Every subscription a link stands for (one, or the lists of a request
    /// that named several), by list: those pending within the confirm window
    /// and those active. Changes nothing.
    /// - Throws: `LinkError`: `expired` when every one still pending has
    ///   expired, `noLongerValid` when none is left.
    public func openGroup(_ token: String, now: Date) async throws -> [ConfirmationContext] {
        let (id, nonce) = try claims(of: token, now: now)
        let group = try await store.confirmationGroup(subscriptionId: id)
        guard group.contains(where: { $0.subscription.id == id && $0.subscription.confirmNonce == nonce }) else {
            throw LinkError.noLongerValid
        }
        let pending = group.filter { $0.subscription.status == .pending }
        let usable = group.filter { context in
            context.subscription.status == .active
                || (context.subscription.status == .pending && now.timeIntervalSince(context.subscription.requestedAt) < confirmTTL)
        }
        guard !usable.isEmpty else { throw pending.isEmpty ? LinkError.noLongerValid : LinkError.expired }
        return usable
    }

    /// The answer to a page for several lists: `accepted` names the lists
    /// ticked, `shown` the terms version the page showed for each. Each list
    /// ticked and still pending becomes active with its own consent entry, in
    /// one transaction with one welcome mail.
    /// - Returns: the group as it now is, with the lists whose terms changed
    ///   meanwhile (shown again, not joined) and whether nothing was ticked.
    /// - Throws: `LinkError` as `openGroup` does.
    public func answerGroup(
        _ token: String,
        accepted: Set<String>,
        shown: [String: Int],
        origin: RequestOrigin,
        now: Date
    ) async throws -> (group: [ConfirmationContext], confirmed: [ConfirmationContext], changed: Set<String>, nothingTicked: Bool) {
        let group = try await openGroup(token, now: now)
        let chosen = group.filter { $0.subscription.status == .pending && accepted.contains($0.list.slug) }
        guard !chosen.isEmpty else { return (group, [], [], !group.contains { accepted.contains($0.list.slug) }) }
        let outcomes = try await store.confirm(
            chosen.map { context in
                TermsAcceptance(
                    subscriptionId: context.subscription.id ?? 0,
                    nonce: context.subscription.confirmNonce,
                    termsVersion: shown[context.list.slug] ?? 0,
                    origin: origin,
                    confirmWindow: confirmTTL
                )
            },
            now: now
        )
        var confirmed: [ConfirmationContext] = []
        var changed: Set<String> = []
        for outcome in outcomes {
            switch outcome {
            case .confirmed(let context): confirmed.append(context)
            case .termsChanged(let context): changed.insert(context.list.slug)
            case .alreadyActive, .superseded, .ended, .expired: break
            }
        }
        return (try await openGroup(token, now: now), confirmed, changed, false)
    }

    private func claims(of string: String, now: Date) throws(LinkError) -> (id: Int64, nonce: String) {
        let token: Token
        do {
            token = try signer.verify(string, purpose: .confirm, now: now)
        } catch .expired {
            throw .expired
        } catch {
            throw .invalidLink
        }
        let parts = token.subject.split(separator: ":")
        guard parts.count == 2, let id = Int64(parts[0]) else { throw .invalidLink }
        return (id, String(parts[1]))
    }
}
