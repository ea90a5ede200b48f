import Crypto
import Foundation

/// The keyed hash under which an erased address is remembered: HMAC-SHA256 of
/// its identity key with a key derived from the signing key, so the list
/// cannot be reversed by hashing guessed addresses without the secret.
///
/// An erasure hashes under the signing key's derivation; a check tries every
/// key of the ring, so an address erased before a rotation stays suppressed
/// for as long as its old key is in the ring.
public struct SuppressionKey: Sendable {
    /// The derived keys, the signing key's first.
    private let keys: [SymmetricKey]

    public init(signingKey: SymmetricKey) {
        self.init(keys: [signingKey])
    }

    /// - Parameter keys: the signing key first, then older keys that still verify.
    public init(keys: [SymmetricKey]) {
        precondition(!keys.isEmpty, "a suppression key needs a key")
        self.keys = keys.map { key in
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("kuvert suppression v1".utf8), using: key)))
        }
    }

    /// Lower-case hex of the keyed hash of an address.
    public func hash(_ address: EmailAddress) -> String {
        hash(addressKey: address.key)
    }

    /// The keyed hash of an address's identity key as the store keeps it.
    public func hash(addressKey: String) -> String {
        Self.hash(addressKey, keys[0])
    }

    /// The hashes of an address under every key of the ring, the current one
    /// first: what a suppression check looks for.
    public func hashes(_ address: EmailAddress) -> [String] {
        keys.map { Self.hash(address.key, $0) }
    }

    private static func hash(_ addressKey: String, _ key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(addressKey.utf8), using: key).lowercaseHex
    }
}
