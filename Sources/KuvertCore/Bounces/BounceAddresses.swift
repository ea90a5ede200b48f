import Crypto
import Foundation

/// Signed envelope senders (`KUVERT_BOUNCE_DOMAIN`): each message leaves with
/// `m<id>-<mac>@<domain>` (a `MessageTags` tag), so a bounce names the outbox
/// row it belongs to and a forged one names nothing.
public struct BounceAddresses: Sendable {
    public let domain: String
    private let tags: MessageTags

    /// - Parameter keys: the signing key first, then older keys that still verify.
    public init(domain: String, keys: [SymmetricKey]) {
        self.domain = domain.lowercased()
        tags = MessageTags(purpose: "kuvert bounce v1", keys: keys)
    }

    /// The envelope sender of outbox message `id`.
    public func address(for id: Int64) -> String {
        "\(tags.tag(for: id))@\(domain)"
    }

    /// The outbox message a bounce address names, or nil for any other address
    /// (another domain, a malformed local part, a MAC that no key made).
    public func messageId(of address: String) -> Int64? {
        let lowered = address.lowercased()
        guard let at = lowered.lastIndex(of: "@"), lowered[lowered.index(after: at)...] == domain else { return nil }
        return tags.messageId(of: lowered[..<at])
    }
}
