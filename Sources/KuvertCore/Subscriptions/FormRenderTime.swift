import Foundation

/// The signed render time of the embeddable form. People take seconds to fill
/// in a form; bots that fetch and post it at once are answered as if
/// subscribed and nothing is stored.
public struct FormRenderTime: Sendable {
    private let signer: TokenSigner
    private let minimum: TimeInterval

    public init(signer: TokenSigner, minimum: TimeInterval) {
        self.signer = signer
        self.minimum = minimum
    }

    /// The hidden field's value for a form rendered at `now`; it works for a day.
    public func token(renderedAt now: Date) -> String {
        signer.sign(Token(purpose: .form, subject: String(Int64(now.timeIntervalSince1970)), expiresAt: now.addingTimeInterval(86_400)))
    }

    /// Whether a submission carrying `token` (nil when the form has no render
    /// time) looks like a person: a valid token at least the minimum old.
    public func looksHuman(_ token: String?, now: Date) -> Bool {
        guard let token else { return true }
        guard let claims = try? signer.verify(token, purpose: .form, now: now), let rendered = Double(claims.subject) else {
            return false
        }
        return now.timeIntervalSince1970 - rendered >= minimum
    }
}
