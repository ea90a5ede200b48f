import Crypto
import Foundation

/// Signed envelope senders (`KUVERT_BOUNCE_DOMAIN`): each message leaves with
/// `m<id>-<mac>@<domain>`, so a bounce names the outbox row it belongs to and a
/// forged one names nothing. The MAC is 80 bits of HMAC-SHA256 of the id under
/// a key derived from the secret, in lower-case base32, so the address is
/// lower case, 40 octets at most before the `@`, and read back whatever case a
/// relay gives it. Every key of the ring verifies, so a bounce of a message
/// sent before a rotation still finds its message.
public struct BounceAddresses: Sendable {
    public let domain: String
    /// The derived keys, the signing key's first.
    private let keys: [SymmetricKey]

    /// - Parameter keys: the signing key first, then older keys that still verify.
    public init(domain: String, keys: [SymmetricKey]) {
        precondition(!keys.isEmpty, "bounce addresses need a key")
        self.domain = domain.lowercased()
        self.keys = keys.map { key in
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("kuvert bounce v1".utf8), using: key)))
        }
    }

    /// The envelope sender of outbox message `id`.
    public func address(for id: Int64) -> String {
        "m\(id)-\(Self.base32(Self.mac(id, keys[0])))@\(domain)"
    }

    /// The outbox message a bounce address names, or nil for any other address
    /// (another domain, a malformed local part, a MAC that no key made).
    public func messageId(of address: String) -> Int64? {
        let lowered = address.lowercased()
        guard let at = lowered.lastIndex(of: "@"), lowered[lowered.index(after: at)...] == domain else { return nil }
        let local = lowered[..<at]
        guard local.hasPrefix("m"), let dash = local.firstIndex(of: "-"),
            let id = Int64(local[local.index(after: local.startIndex)..<dash]), id > 0,
            local.distance(from: dash, to: local.endIndex) == 17,  // the dash and 16 characters: 80 bits exactly
            let given = Self.unbase32(local[local.index(after: dash)...]), given.count == Self.macLength
        else { return nil }
        // Every key is tried, and each comparison looks at every byte.
        var matched = false
        for key in keys {
            let expected = Self.mac(id, key)
            var difference: UInt8 = 0
            for (a, b) in zip(expected, given) { difference |= a ^ b }
            matched = (difference == 0) || matched
        }
        return matched ? id : nil
    }

    /// 80 bits: forging one address takes 2^80 tries, each a message to the bounce domain.
    static let macLength = 10

    private static func mac(_ id: Int64, _ key: SymmetricKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data("\(id)".utf8), using: key).prefix(macLength))
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// RFC 4648 base32 in lower case, without padding (10 bytes: 16 characters).
    static func base32(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func unbase32(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in text.utf8 {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = ((buffer << 5) | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}
