import Crypto
import Foundation
import _CryptoExtras

/// A DKIM signing key of one domain and selector.
public struct DKIMKey: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        /// RFC 6376 `rsa-sha256`, 2048 bits: what every verifier checks.
        case rsa
        /// RFC 8463 `ed25519-sha256`: a second signature beside RSA.
        case ed25519

        /// RSA first: the signature every receiver checks comes first.
        var order: Int { self == .rsa ? 0 : 1 }

        /// The selector `kuvert dkim generate` picks when given none: the two
        /// algorithms' keys need DNS names of their own.
        public var defaultSelector: String { self == .rsa ? "kuvert" : "kuvert-ed25519" }

        /// The signature's `a=` tag.
        public var tag: String { self == .rsa ? "rsa-sha256" : "ed25519-sha256" }
    }

    enum PrivateKey: Sendable {
        /// swift-crypto's key for its forms (PEM, the DNS record), and the same
        /// key in the system's OpenSSL, which signs.
        case rsa(_RSA.Signing.PrivateKey, SystemRSAKey)
        case ed25519(Curve25519.Signing.PrivateKey)

        static func rsa(_ key: _RSA.Signing.PrivateKey) throws -> PrivateKey {
            .rsa(key, try SystemRSAKey(pem: key.pkcs8PEMRepresentation))
        }
    }

    /// The signing domain (`d=`), lower-case ASCII.
    public let domain: String
    /// The selector (`s=`).
    public let selector: String
    public let algorithm: Algorithm
    let privateKey: PrivateKey

    init(domain: String, selector: String, privateKey: PrivateKey) {
        self.domain = domain
        self.selector = selector
        self.privateKey = privateKey
        switch privateKey {
        case .rsa: algorithm = .rsa
        case .ed25519: algorithm = .ed25519
        }
    }

    /// A new key: RSA 2048 or Ed25519.
    public static func generate(domain: String, selector: String, algorithm: Algorithm) throws -> DKIMKey {
        switch algorithm {
        case .rsa: DKIMKey(domain: domain, selector: selector, privateKey: try .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
        case .ed25519: DKIMKey(domain: domain, selector: selector, privateKey: .ed25519(Curve25519.Signing.PrivateKey()))
        }
    }

    /// The key from its PKCS#8 PEM form.
    public init(domain: String, selector: String, algorithm: Algorithm, pem: String) throws {
        switch algorithm {
        case .rsa:
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
            guard key.keySizeInBits >= 1024 else { throw DKIMKeyError.weak(key.keySizeInBits) }
            self.init(domain: domain, selector: selector, privateKey: try .rsa(key))
        case .ed25519:
            self.init(domain: domain, selector: selector, privateKey: .ed25519(try Curve25519.Signing.PrivateKey(pemRepresentation: pem)))
        }
    }

    /// The private key as PKCS#8 PEM, which OpenSSL and OpenDKIM read too.
    public var pem: String {
        switch privateKey {
        case .rsa(let key, _): key.pkcs8PEMRepresentation
        case .ed25519(let key): key.pemRepresentation
        }
    }

    /// `a 2048-bit RSA` or `an Ed25519`: the strength with its article.
    public var strengthWithArticle: String { algorithm == .rsa ? "a " + strength : "an " + strength }

    /// `2048-bit RSA` or `Ed25519`.
    public var strength: String {
        switch privateKey {
        case .rsa(let key, _): "\(key.keySizeInBits)-bit RSA"
        case .ed25519: "Ed25519"
        }
    }

    /// Where the public key is published: `SELECTOR._domainkey.DOMAIN`.
    public var recordName: String { "\(selector)._domainkey.\(domain)" }

    /// The TXT record's value. RSA keys are published as SubjectPublicKeyInfo
    /// (OpenDKIM refuses a bare PKCS#1 key); Ed25519 keys as the raw 32 bytes (RFC 8463).
    public var recordValue: String {
        switch privateKey {
        case .rsa(let key, _): "v=DKIM1; k=rsa; p=" + key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let key): "v=DKIM1; k=ed25519; p=" + key.publicKey.rawRepresentation.base64EncodedString()
        }
    }

    /// The value as DNS zone files and most DNS hosts want it: quoted strings of at most 255 characters.
    public var recordStrings: String { Deliverability.quotedStrings(recordValue) }

    /// The signature over the canonicalised header data: PKCS#1 v1.5 of its
    /// SHA-256 for RSA, made by the system's OpenSSL (`SystemRSAKey`), or
    /// Ed25519 over the SHA-256 digest (RFC 8463).
    func sign(_ data: [UInt8]) throws -> Data {
        let digest = SHA256.hash(data: data)
        switch privateKey {
        case .rsa(_, let key): return try key.signature(digest: Array(digest))
        case .ed25519(let key): return try key.signature(for: Data(digest))
        }
    }
}

public enum DKIMKeyError: Error, CustomStringConvertible {
    case weak(Int)

    public var description: String {
        switch self {
        case .weak(let bits): "a \(bits)-bit RSA key is too weak for DKIM; generate a 2048-bit one"
        }
    }
}
