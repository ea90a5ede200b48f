import Crypto
import Foundation

/// A bearer token for `/api/v1/` (`kuvert api-token`). The secret is shown
/// once when made; the store keeps only its SHA-256, and a presented token is
/// found by that hash and compared with it in constant time.
public struct APIToken: Sendable, Equatable, Codable {
    public var id: Int64?
    /// How the operator names the program that holds it; the audit log names it so.
    public var name: String
    public var tokenHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: Int64? = nil, name: String, tokenHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// A new secret: `kuvert_` and 256 random bits in lower-case hex.
    public static func newSecret() -> String {
        "kuvert_" + SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.lowercaseHex
    }

    /// The SHA-256 of a secret, in lower-case hex: what the store keeps.
    public static func hash(_ secret: String) -> String {
        Array(SHA256.hash(data: Data(secret.utf8))).lowercaseHex
    }

    /// Whether `secret` hashes to this token's hash, looking at every byte.
    public func matches(_ secret: String) -> Bool {
        let given = Array(Self.hash(secret).utf8)
        let stored = Array(tokenHash.utf8)
        guard given.count == stored.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(given, stored) { difference |= a ^ b }
        return difference == 0
    }

    /// A token name: 1 to 64 letters, digits, `.`, `_` or `-`.
    public static func validName(_ name: String) -> Bool {
        (1...64).contains(name.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}
