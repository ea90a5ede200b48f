import Crypto

/// The keys Kuvert works with, derived once from the secret keys: the signer
/// of links and the key of the suppression list's hashes.
public struct KeyRing: Sendable {
    public let signer: TokenSigner
    public let suppression: SuppressionKey
    /// A fingerprint of each key, the signing key's first: an HMAC of a fixed
    /// text under the key, which tells keys apart and reveals nothing of them.
    public let fingerprints: [String]
    private let keys: [SymmetricKey]

    /// - Parameter keys: the signing key first, then older keys that still verify.
    public init(keys: [SymmetricKey]) {
        precondition(!keys.isEmpty, "a key ring needs a signing key")
        self.keys = keys
        signer = TokenSigner(keys: keys)
        suppression = SuppressionKey(keys: keys)
        fingerprints = keys.map { key in
            HMAC<SHA256>.authenticationCode(for: Array("kuvert key fingerprint v1".utf8), using: key).lowercaseHex
        }
    }

    /// The signed envelope senders at `domain`.
    public func bounceAddresses(domain: String) -> BounceAddresses {
        BounceAddresses(domain: domain, keys: keys)
    }

    /// The signed tags of Message-IDs, which sending services echo in their webhooks.
    public var messageTags: MessageTags {
        MessageTags(purpose: "kuvert message-id v1", keys: keys)
    }

    /// The keys of `KUVERT_SECRET` or the data directory's key file.
    /// - Throws: `KuvertError.configuration`, as `SecretKeys.load` does.
    public static func load(_ storage: StorageSettings) throws -> KeyRing {
        KeyRing(keys: try SecretKeys.load(storage))
    }
}
