import Foundation

/// The one-click unsubscribe link in every newsletter. It names the
/// subscription only and never expires, so it works for the life of the message.
public enum UnsubscribeLink {
    public static func token(for subscription: Subscription, signer: TokenSigner) -> String {
        token(forSubscription: subscription.id ?? 0, signer: signer)
    }

    public static func token(forSubscription id: Int64, signer: TokenSigner) -> String {
        signer.sign(Token(purpose: .unsubscribe, subject: String(id), expiresAt: nil))
    }

    /// The subscription id in a valid unsubscribe token; nil for anything else.
    public static func subscriptionId(in token: String, signer: TokenSigner, now: Date) -> Int64? {
        guard let claims = try? signer.verify(token, purpose: .unsubscribe, now: now) else { return nil }
        return Int64(claims.subject)
    }
}
