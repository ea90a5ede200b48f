import Crypto
import Foundation

/// Mints and verifies signed links with HMAC-SHA256.
///
/// The first key signs; every key verifies, so a key can be rotated without
/// breaking links already sent. Signatures are checked in constant time.
public struct TokenSigner: Sendable {
    private let keys: [SymmetricKey]
    /// HMAC keyed with the signing key, copied for each token: keying costs two
    /// hash blocks and allocations that a newsletter's every message would pay.
    private let signing: HMAC<SHA256>

    /// Tokens longer than this are refused before any decoding.
    static let maximumLength = 512

    /// - Parameter keys: the signing key first, then older keys still accepted.
    public init(keys: [SymmetricKey]) {
        precondition(!keys.isEmpty, "a token signer needs at least one key")
        self.keys = keys
        self.signing = HMAC<SHA256>(key: keys[0])
    }

    /// The token string for these claims.
    public func sign(_ token: Token) -> String {
        var payload = token.payload
        return payload.withUTF8 { payload in
            var hmac = signing
            hmac.update(data: UnsafeRawBufferPointer(payload))
            let mac = hmac.finalize()
            var text = Base64URL.encode(UnsafeRawBufferPointer(payload))
            text.append(".")
            mac.withUnsafeBytes { text.append(Base64URL.encode($0)) }
            return text
        }
    }

    /// The claims of a token string, if a key of ours signed it for `purpose` and
    /// it has not expired at `now`.
    /// - Throws: `TokenError`.
    public func verify(_ string: String, purpose: TokenPurpose, now: Date) throws(TokenError) -> Token {
        guard string.utf8.count <= Self.maximumLength else { throw .invalid }
        let parts = string.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let payload = Base64URL.decode(parts[0]),
            let mac = Base64URL.decode(parts[1]),
            mac.count == SHA256.byteCount
        else { throw .invalid }
        // Check every key even after a match so timing does not tell which key signed.
        var matched = false
        for key in keys {
            matched = HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) || matched
        }
        guard matched, let text = String(data: payload, encoding: .utf8), let token = Token(payload: text) else {
            throw .invalid
        }
        guard token.purpose == purpose else { throw .wrongPurpose }
        if let expiry = token.expiresAt, expiry <= now { throw .expired }
        return token
    }
}

/// Base64url without padding (RFC 4648 section 5), strict on input.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ data: Data) -> String {
        data.withUnsafeBytes { encode($0) }
    }

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = (bytes.count * 8 + 5) / 6
        return String(unsafeUninitializedCapacity: count) { out in
            var written = 0
            var index = 0
            while index < bytes.count {
                let chunk = min(3, bytes.count - index)
                var bits = UInt32(bytes[index]) << 16
                if chunk > 1 { bits |= UInt32(bytes[index + 1]) << 8 }
                if chunk > 2 { bits |= UInt32(bytes[index + 2]) }
                for sextet in 0...chunk {
                    out[written] = alphabet[Int(bits >> UInt32(18 - 6 * sextet)) & 0x3F]
                    written += 1
                }
                index += 3
            }
            return written
        }
    }

    static func decode(_ text: some StringProtocol) -> Data? {
        guard !text.isEmpty,
            text.utf8.allSatisfy({ byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x2D || byte == 0x5F
            })
        else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.utf8.count % 4
        guard remainder != 1 else { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        guard let data = Data(base64Encoded: base64), encode(data) == String(text) else { return nil }
        return data
    }
}
