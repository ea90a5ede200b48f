import Crypto
import Foundation

/// Signed names of outbox messages, `m<id>-<mac>`: what a bounce address and a
/// Message-ID carry, so that a report about a message (a bounce, a sending
/// service's webhook event) finds its message, and a forged one names nothing.
/// The MAC is 80 bits of HMAC-SHA256 of the id under a key derived from the
/// secret for one purpose, in lower-case base32: lower case, 40 octets at most,
/// read back whatever case a relay gives it. Every key of the ring verifies, so
/// a report on a message sent before a rotation still finds its message.
public struct MessageTags: Sendable {
    /// The derived keys, the signing key's first.
    private let keys: [SymmetricKey]

    /// - Parameters:
    ///   - purpose: the derivation's label, one per place a tag goes (a tag made
    ///     for a Message-ID, which every recipient sees, is no bounce address).
    ///   - keys: the signing key first, then older keys that still verify.
    public init(purpose: String, keys: [SymmetricKey]) {
        precondition(!keys.isEmpty, "message tags need a key")
        self.keys = keys.map { key in
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: key)))
        }
    }

    /// The tag of outbox message `id`.
    public func tag(for id: Int64) -> String {
        "m\(id)-\(Self.base32(Self.mac(id, keys[0])))"
    }

    /// The outbox message `tag` names (any case), or nil for anything else: a
    /// malformed tag, a MAC that no key made.
    public func messageId(of tag: some StringProtocol) -> Int64? {
        let local = tag.lowercased()
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

    /// 80 bits: forging one tag takes 2^80 tries.
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
