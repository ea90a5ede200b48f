import Foundation
import SwiftASN1
import _CryptoExtras

/// What Kuvert needs of an SNS signing certificate (RFC 5280): its RSA key
/// and its validity. The certificate's authenticity comes from where it was
/// fetched (https from an SNS host, verified by TLS), not from a chain here.
struct SigningCertificate {
    var key: _RSA.Signing.PublicKey
    var notBefore: Date
    var notAfter: Date

    struct Invalid: Error {}

    /// Reads a PEM certificate.
    /// - Throws: `Invalid` for anything but an X.509 certificate with an RSA key of 2048 bits or more.
    init(pem: String) throws {
        let der = try PEMDocument(pemString: pem).derBytes
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
        guard case .constructed(let certificate) = try DER.parse(der).content,
            let tbs = certificate.first(where: { _ in true }), case .constructed(let fields) = tbs.content
        else { throw Invalid() }
        // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, … }
        var rest = Array(fields)
        if let first = rest.first, first.identifier.tagClass == .contextSpecific { rest.removeFirst() }
        guard rest.count >= 6, case .constructed(let validity) = rest[3].content else { throw Invalid() }
        let times = try validity.map(Self.time)
        guard times.count == 2 else { throw Invalid() }
        key = try _RSA.Signing.PublicKey(derRepresentation: rest[5].encodedBytes)
        (notBefore, notAfter) = (times[0], times[1])
    }

    /// A `Time` (UTCTime or GeneralizedTime) as a date.
    private static func time(_ node: ASN1Node) throws -> Date {
        var components = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"))
        if node.identifier == .utcTime {
            let time = try UTCTime(derEncoded: node)
            (components.year, components.month, components.day) = (time.year, time.month, time.day)
            (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
        } else if node.identifier == .generalizedTime {
            let time = try GeneralizedTime(derEncoded: node)
            (components.year, components.month, components.day) = (time.year, time.month, time.day)
            (components.hour, components.minute, components.second) = (time.hours, time.minutes, time.seconds)
        } else {
            throw Invalid()
        }
        guard let date = components.date else { throw Invalid() }
        return date
    }
}
