import Crypto
import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Signed tokens")
struct TokenTests {
    let key = SymmetricKey(size: .bits256)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    var signer: TokenSigner { TokenSigner(keys: [key]) }

    func token(_ purpose: TokenPurpose = .confirm, expiresIn: TimeInterval? = 3_600) -> Token {
        Token(purpose: purpose, subject: "42:abcdef0123456789", expiresAt: expiresIn.map { now.addingTimeInterval($0) })
    }

    @Test("a signed token verifies for its purpose and gives back its claims")
    func roundTrip() throws {
        let string = signer.sign(token())
        let verified = try signer.verify(string, purpose: .confirm, now: now)
        #expect(verified == token())
        #expect(string.split(separator: ".").count == 2)
    }

    @Test("a token for one purpose never works for another", arguments: TokenPurpose.allCases)
    func purposeBound(purpose: TokenPurpose) {
        let string = signer.sign(token(purpose))
        for other in TokenPurpose.allCases where other != purpose {
            #expect(throws: TokenError.wrongPurpose) { try signer.verify(string, purpose: other, now: now) }
        }
    }

    @Test("an expired token is refused as expired, a token without expiry never expires")
    func expiry() throws {
        let string = signer.sign(token(expiresIn: 60))
        #expect(throws: TokenError.expired) { try signer.verify(string, purpose: .confirm, now: now.addingTimeInterval(61)) }
        let forever = signer.sign(token(.unsubscribe, expiresIn: nil))
        #expect(throws: Never.self) {
            try signer.verify(forever, purpose: .unsubscribe, now: now.addingTimeInterval(100 * 365 * 86_400))
        }
    }

    @Test("any change to the payload or the signature is refused")
    func tampering() throws {
        let string = signer.sign(token())
        let parts = string.split(separator: ".").map(String.init)
        // Re-sign nothing: swap in a payload naming another subscription.
        let forged = Base64URL.encode(Data("1.confirm.43:abcdef0123456789.1800003600".utf8)) + "." + parts[1]
        #expect(throws: TokenError.invalid) { try signer.verify(forged, purpose: .confirm, now: now) }
        for index in string.indices where string[index] != "." {
            var mutated = string
            let replacement: Character = string[index] == "A" ? "B" : "A"
            mutated.replaceSubrange(index...index, with: String(replacement))
            #expect(throws: TokenError.self) { try signer.verify(mutated, purpose: .confirm, now: now) }
        }
    }

    @Test("a token from another key is refused; rotated keys still verify")
    func keys() throws {
        let old = SymmetricKey(size: .bits256)
        let fromOld = TokenSigner(keys: [old]).sign(token())
        #expect(throws: TokenError.invalid) { try signer.verify(fromOld, purpose: .confirm, now: now) }
        let rotated = TokenSigner(keys: [key, old])
        #expect(throws: Never.self) { try rotated.verify(fromOld, purpose: .confirm, now: now) }
        // The new key signs.
        #expect(throws: Never.self) { try signer.verify(rotated.sign(token()), purpose: .confirm, now: now) }
    }

    static let garbage = [
        "", ".", "..", "abc", "abc.def", "a.b.c", "====.====", "MQ.MQ", "%00.%00", "<script>.x",
        String(repeating: "A", count: 600), "MS5jb25maXJtLjQyOmFiYy4w.", ".AAAA", "MS5jb25maXJt.AAAA+/AA",
    ]

    @Test("garbage is refused as invalid", arguments: garbage)
    func garbageRefused(string: String) {
        #expect(throws: TokenError.invalid) { try signer.verify(string, purpose: .confirm, now: now) }
    }

    @Test("base64url matches Foundation's base64 with the URL alphabet and no padding, and decodes back")
    func base64URL() {
        for length in 0...70 {
            let data = Data((0..<length).map { _ in UInt8.random(in: .min ... .max) })
            let reference = data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(data)
            #expect(encoded == reference, "length \(length)")
            if length > 0 { #expect(Base64URL.decode(encoded) == data, "length \(length)") }
        }
    }

    @Test("a validly signed payload of the wrong shape is refused")
    func wrongShape() {
        for payload in ["2.confirm.42:abc.0", "1.confirm.42 abc.0", "1.other.42.0", "1.confirm.42", "1.confirm.42.-5"] {
            let data = Data(payload.utf8)
            let mac = HMAC<SHA256>.authenticationCode(for: data, using: key)
            let string = Base64URL.encode(data) + "." + Base64URL.encode(Data(mac))
            #expect(throws: TokenError.invalid) { try signer.verify(string, purpose: .confirm, now: now) }
        }
    }
}
