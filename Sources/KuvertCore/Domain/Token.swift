import Foundation

/// What a signed link may be used for. A token minted for one purpose is refused
/// for every other.
public enum TokenPurpose: String, Sendable, CaseIterable {
    case confirm
    case unsubscribe
    case privacy
    /// A person's own manage page: names the subscriber, never expires.
    case manage
    /// The confirmation of a new address, by its owner.
    case address
    /// The render time signed into the embeddable form.
    case form
    /// A re-consent to a list's new terms: names the subscription and the
    /// terms change, and expires at its deadline.
    case reconsent
}

/// The signed claims inside a link: version, purpose, subject and expiry.
///
/// On the wire a token is `base64url(payload).base64url(HMAC-SHA256(key, payload))`
/// where the payload is `1.<purpose>.<subject>.<expiry>`: the expiry in Unix
/// seconds, `0` for a token that never expires.
public struct Token: Equatable, Sendable {
    /// The payload format this code writes and reads.
    public static let version = 1

    public var purpose: TokenPurpose
    /// What the token is about, such as a subscription id and its nonce. Letters,
    /// digits, `-`, `_` and `:` only, so the payload needs no escaping.
    public var subject: String
    /// When the token stops working; nil for tokens that do not expire.
    public var expiresAt: Date?

    public init(purpose: TokenPurpose, subject: String, expiresAt: Date?) {
        precondition(Self.isValidSubject(subject), "token subjects are [A-Za-z0-9_:-]")
        self.purpose = purpose
        self.subject = subject
        self.expiresAt = expiresAt
    }

    var payload: String {
        let expiry = expiresAt.map { String(Int64($0.timeIntervalSince1970.rounded(.up))) } ?? "0"
        return "\(Self.version).\(purpose.rawValue).\(subject).\(expiry)"
    }

    init?(payload: String) {
        let parts = payload.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "\(Self.version)",
            let purpose = TokenPurpose(rawValue: String(parts[1])),
            Self.isValidSubject(parts[2]),
            let expiry = Int64(parts[3]), expiry >= 0
        else { return nil }
        self.purpose = purpose
        self.subject = String(parts[2])
        self.expiresAt = expiry == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(expiry))
    }

    static func isValidSubject(_ subject: some StringProtocol) -> Bool {
        !subject.isEmpty && subject.utf8.count <= 128
            && subject.utf8.allSatisfy { byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
            }
    }
}

/// Why a link was refused.
public enum TokenError: Error, Equatable, Sendable {
    /// Not a token at all, or a signature that no key made. Said the same way for
    /// both so that nothing is learned from probing.
    case invalid
    /// A real token for another purpose.
    case wrongPurpose
    /// A real token whose time has passed.
    case expired
}
