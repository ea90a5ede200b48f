import Foundation

/// The short-lived link that lets a person see, download and erase what is
/// held on them. It names the subscriber and lives one hour.
public enum PrivacyLink {
    /// How long a privacy link works.
    public static let lifetime: TimeInterval = 3_600

    public static func token(forSubscriber id: Int64, signer: TokenSigner, now: Date) -> String {
        signer.sign(Token(purpose: .privacy, subject: String(id), expiresAt: now.addingTimeInterval(lifetime)))
    }

    /// The subscriber id in a valid, unexpired privacy token.
    /// - Throws: `TokenError`.
    public static func subscriberId(in token: String, signer: TokenSigner, now: Date) throws(TokenError) -> Int64 {
        let claims = try signer.verify(token, purpose: .privacy, now: now)
        guard let id = Int64(claims.subject) else { throw .invalid }
        return id
    }
}
