import Foundation

@testable import KuvertCore

extension SubscriptionRequest {
    /// A request from the web form for `email`, as every test makes one: from
    /// 192.0.2.7 with the user agent `TestAgent/1.0`.
    package static func form(_ email: String, list: String? = "news", name: String? = nil) throws -> SubscriptionRequest {
        SubscriptionRequest(
            address: try EmailAddress(email),
            listSlug: list,
            name: name,
            language: nil,
            origin: RequestOrigin(ip: "192.0.2.7", userAgent: "TestAgent/1.0", source: "form"),
            actor: "web"
        )
    }
}

extension SubscriptionStore {
    /// Asks for a subscription of `email` as the web form would; a repeat
    /// within `resendWindow` queues no second mail.
    @discardableResult
    package func request(
        _ email: String,
        list: String = "news",
        name: String? = nil,
        resendWindow: TimeInterval = 0,
        now: Date = Date()
    ) async throws -> IntakeOutcome {
        try await subscribe(try .form(email, list: list, name: name), resendWindow: resendWindow, now: now)
    }

    /// Asks for `email` and confirms it at `now`, as the confirmation page
    /// does; returns the subscription's id.
    @discardableResult
    package func activate(_ email: String, list: String = "news", now: Date = Date()) async throws -> Int64 {
        guard case .confirmationQueued(let id) = try await request(email, list: list, now: now) else {
            throw StoreUnderTest.FixtureFailure(sql: "subscribe \(email)", reason: "no confirmation queued")
        }
        guard let nonce = try await confirmationContext(subscriptionId: id)?.subscription.confirmNonce else {
            throw StoreUnderTest.FixtureFailure(sql: "confirm \(email)", reason: "no confirmation context")
        }
        let outcome = try await confirm(
            TermsAcceptance(
                subscriptionId: id,
                nonce: nonce,
                termsVersion: nil,
                origin: RequestOrigin(ip: nil, userAgent: nil, source: "web"),
                confirmWindow: 86_400
            ),
            now: now
        )
        guard case .confirmed = outcome else { throw StoreUnderTest.FixtureFailure(sql: "confirm \(email)", reason: "\(outcome)") }
        return id
    }
}
