import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Amazon SES's bounce and complaint notifications, which come through an SNS
/// topic: each POST is an SNS message whose signature is verified against the
/// signing certificate it names, fetched over https from an SNS host only
/// (`sns.<region>.amazonaws.com`), and whose topic must be one of those in
/// `KUVERT_BOUNCE_WEBHOOK_SES` (anyone can sign SNS messages of a topic of
/// their own). A subscription confirmation is confirmed by fetching its
/// `SubscribeURL`, an SNS host's too. SES echoes the Message-ID Kuvert set in
/// `mail.commonHeaders.messageId`.
struct SESWebhook: BounceWebhookReader {
    let topics: Set<String>
    let get: HTTPSGet
    let certificates: CertificateCache

    init(topics: Set<String>, get: HTTPSGet) {
        self.topics = topics
        self.get = get
        certificates = CertificateCache()
    }

    /// An SNS message, as SNS posts it.
    struct Envelope: Decodable {
        var `Type`: String
        var MessageId: String
        var TopicArn: String
        var Message: String
        var Timestamp: String
        var SignatureVersion: String
        var Signature: String
        var SigningCertURL: String
        var Subject: String?
        var SubscribeURL: String?
        var Token: String?
    }

    func events(_ request: BounceWebhookRequest) async throws(BounceWebhookError) -> [BounceWebhookEvent] {
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(request.body)) } catch {
            throw .unauthorized("An SNS message is JSON with a Type, a TopicArn and a signature; this body is not.")
        }
        try await verify(envelope, now: request.receivedAt)
        guard topics.contains(envelope.TopicArn) else {
            throw .unauthorized("The SNS topic is not one of \(BounceWebhookProvider.ses.variable).")
        }
        switch envelope.Type {
        case "SubscriptionConfirmation":
            guard let url = envelope.SubscribeURL, Self.isSNS(url) else { throw .malformed("The subscription confirmation has no SNS SubscribeURL.") }
            do { _ = try await get(url) } catch {
                throw .unavailable("The SNS subscription could not be confirmed (\(error)); SNS sends the confirmation again.")
            }
            return []
        case "Notification":
            return try SESNotification.events(Data(envelope.Message.utf8), messageId: envelope.MessageId)
        default:
            return []
        }
    }

    /// Whether `url` is https on an SNS host: the only place a certificate or a confirmation may come from.
    static func isSNS(_ url: String) -> Bool {
        guard let parsed = URLComponents(string: url), parsed.scheme == "https", parsed.port == nil || parsed.port == 443,
            parsed.user == nil, parsed.password == nil, let host = parsed.host?.lowercased()
        else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let suffix = labels.count == 4 ? labels.suffix(2) : labels.count == 5 ? labels.suffix(3) : []
        return labels.first == "sns" && (labels.count == 4 || labels.count == 5)
            && ["amazonaws.com", "amazonaws.com.cn"].contains(suffix.joined(separator: "."))
            && labels[1].allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") } && !labels[1].isEmpty
    }

    /// The text SNS signs: the named fields, in order, each as `name\nvalue\n`.
    static func signedText(_ envelope: Envelope) -> String {
        let fields: [(String, String?)] =
            envelope.Type == "Notification"
            ? [
                ("Message", envelope.Message), ("MessageId", envelope.MessageId), ("Subject", envelope.Subject),
                ("Timestamp", envelope.Timestamp), ("TopicArn", envelope.TopicArn), ("Type", envelope.Type),
            ]
            : [
                ("Message", envelope.Message), ("MessageId", envelope.MessageId), ("SubscribeURL", envelope.SubscribeURL),
                ("Timestamp", envelope.Timestamp), ("Token", envelope.Token), ("TopicArn", envelope.TopicArn), ("Type", envelope.Type),
            ]
        return fields.compactMap { name, value in value.map { "\(name)\n\($0)\n" } }.joined()
    }

    private func verify(_ envelope: Envelope, now: Date) async throws(BounceWebhookError) {
        guard Self.isSNS(envelope.SigningCertURL), envelope.SigningCertURL.hasSuffix(".pem") else {
            throw .unauthorized("The SNS message's SigningCertURL is not an https URL of an SNS host.")
        }
        guard let signature = Data(base64Encoded: envelope.Signature) else { throw .unauthorized("The SNS signature is not base64.") }
        let key = try await certificates.key(envelope.SigningCertURL, now: now, get: get)
        let text = Data(Self.signedText(envelope).utf8)
        let valid: Bool
        switch envelope.SignatureVersion {
        case "1": valid = key.isValidSignature(.init(rawRepresentation: signature), for: Insecure.SHA1.hash(data: text), padding: .insecurePKCS1v1_5)
        case "2": valid = key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: text), padding: .insecurePKCS1v1_5)
        default: throw .unauthorized("SNS signature version \(envelope.SignatureVersion) is not 1 or 2.")
        }
        guard valid else { throw .unauthorized("The SNS signature does not verify with the topic's signing certificate.") }
    }
}

/// The signing certificates fetched, by URL, for as long as they are valid.
final class CertificateCache: Sendable {
    private let keys = Mutex<[String: (key: _RSA.Signing.PublicKey, until: Date)]>([:])
    /// Certificates kept at most: one per region and rotation.
    static let capacity = 32

    func key(_ url: String, now: Date, get: HTTPSGet) async throws(BounceWebhookError) -> _RSA.Signing.PublicKey {
        if let kept = keys.withLock({ $0[url] }), kept.until > now { return kept.key }
        let pem: [UInt8]
        do { pem = try await get(url) } catch {
            throw .unavailable("The SNS signing certificate could not be fetched (\(error)).")
        }
        guard let certificate = try? SigningCertificate(pem: String(decoding: pem, as: UTF8.self)) else {
            throw .unauthorized("The SNS signing certificate is no X.509 certificate with an RSA key in PEM.")
        }
        guard certificate.notBefore <= now, now <= certificate.notAfter else {
            throw .unauthorized("The SNS signing certificate is not valid now.")
        }
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll() }
            keys[url] = (certificate.key, certificate.notAfter)
        }
        return certificate.key
    }
}
