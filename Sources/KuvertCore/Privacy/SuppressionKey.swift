import Crypto
import Foundation

/// The keyed hash under which an erased address is remembered: HMAC-SHA256 of
/// its identity key with a key derived from the signing key, so the list
/// cannot be reversed by hashing guessed addresses without the secret.
public struct SuppressionKey: Sendable {
    private let key: SymmetricKey

    public init(signingKey: SymmetricKey) {
        let derived = HMAC<SHA256>.authenticationCode(for: Data("kuvert suppression v1".utf8), using: signingKey)
        key = SymmetricKey(data: Data(derived))
    }

    /// Lower-case hex of the keyed hash of an address.
    public func hash(_ address: EmailAddress) -> String {
        hash(addressKey: address.key)
    }

    /// The keyed hash of an address's identity key as the store keeps it.
    public func hash(addressKey: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(addressKey.utf8), using: key).lowercaseHex
    }
}
