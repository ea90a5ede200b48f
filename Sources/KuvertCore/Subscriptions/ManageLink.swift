import Foundation

/// The link to a person's manage page, in every newsletter, welcome and notice
/// mail. It names the subscriber and, like the unsubscribe link, never
/// expires. It opens lists, name and language only: the address and the data
/// held need the one-hour privacy link (a forwarded newsletter must not hand
/// them to its reader).
public enum ManageLink {
    public static func token(forSubscriber id: Int64, signer: TokenSigner) -> String {
        signer.sign(Token(purpose: .manage, subject: String(id), expiresAt: nil))
    }

    /// The subscriber id in a valid manage token.
    /// - Throws: `TokenError`.
    public static func subscriberId(in token: String, signer: TokenSigner, now: Date) throws(TokenError) -> Int64 {
        let claims = try signer.verify(token, purpose: .manage, now: now)
        guard let id = Int64(claims.subject) else { throw .invalid }
        return id
    }
}
