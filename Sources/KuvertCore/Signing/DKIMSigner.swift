import Crypto
import Foundation

/// Signs outgoing mail with the keys of its `From` domain (RFC 6376, RFC 8463).
///
/// One `rsa-sha256` signature, and an `ed25519-sha256` one after it when the
/// domain has an Ed25519 key too; `c=relaxed/relaxed`, no `l=`. The signature
/// covers the headers RFC 8058 needs for one-click unsubscribe, and From,
/// Subject and both List-Unsubscribe fields are oversigned: a copy of any of
/// them added on the way breaks the signature.
public struct DKIMSigner: Sendable {
    /// The fields signed, in this order, when the message has them.
    static let signedFields = [
        "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "list-id", "list-unsubscribe", "list-unsubscribe-post",
    ]
    /// Fields named once more than the message has them: no second one can be added.
    static let oversignedFields: Set<String> = ["from", "subject", "list-unsubscribe", "list-unsubscribe-post"]

    /// The keys that sign for each domain: RSA first, then Ed25519.
    private let keysByDomain: [String: [DKIMKey]]

    /// - Parameter entries: every key; for each domain and algorithm the first
    ///   (the oldest, as `DKIMKeyDirectory.load` orders them) signs.
    public init(_ entries: [DKIMKeyDirectory.Entry]) {
        var keys: [String: [DKIMKey]] = [:]
        for entry in entries where !(keys[entry.key.domain] ?? []).contains(where: { $0.algorithm == entry.key.algorithm }) {
            keys[entry.key.domain, default: []].append(entry.key)
        }
        keysByDomain = keys.mapValues { $0.sorted { $0.algorithm == .rsa && $1.algorithm != .rsa } }
    }

    /// The domains that have a key.
    public var domains: Set<String> { Set(keysByDomain.keys) }

    /// The keys that sign mail from `domain`, RSA first; none for a domain without keys.
    public func keys(for domain: String) -> [DKIMKey] {
        if let keys = keysByDomain[domain.lowercased()] { return keys }
        // An internationalised domain is kept as its xn-- form.
        guard !domain.allSatisfy(\.isASCII), let ascii = try? DKIMKeyDirectory.domain(domain) else { return [] }
        return keysByDomain[ascii] ?? []
    }

    /// `message` with a `DKIM-Signature` field for each key of `domain` in front;
    /// `message` itself when the domain has no key.
    public func sign(_ message: [UInt8], domain: String, now: Date) throws -> [UInt8] {
        let keys = keys(for: domain)
        guard !keys.isEmpty else { return message }
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        let bodyHash = Data(SHA256.hash(data: DKIMCanonicalization.relaxedBody(message[bodyStart...]))).base64EncodedString()

        // h=: each signed field as often as the message has it, once more if oversigned.
        var names: [String] = []
        var present: [String: Int] = [:]
        for field in fields { present[field.name.lowercased(), default: 0] += 1 }
        for name in Self.signedFields {
            let count = (present[name] ?? 0) + (Self.oversignedFields.contains(name) ? 1 : 0)
            names.append(contentsOf: repeatElement(name, count: count))
        }
        // The fields in h= order, each name taken from the bottom up (RFC 6376 5.4.2).
        var used: [String: Int] = [:]
        var signedHeaders: [UInt8] = []
        for name in names {
            let instances = fields.filter { $0.name.lowercased() == name }
            let taken = used[name, default: 0]
            used[name] = taken + 1
            guard taken < instances.count else { continue }
            signedHeaders.append(contentsOf: DKIMCanonicalization.relaxedHeader(instances[instances.count - 1 - taken]))
        }

        var signatures: [UInt8] = []
        for key in keys {
            // Folded now, before hashing; afterwards only b= is filled in (and folded).
            let unsigned =
                "DKIM-Signature: v=1; a=\(key.algorithm.tag); c=relaxed/relaxed; d=\(key.domain); s=\(key.selector);\r\n"
                + "\tt=\(Int(now.timeIntervalSince1970)); h=\(Self.folded(names));\r\n"
                + "\tbh=\(bodyHash);\r\n"
                + "\tb="
            var data = signedHeaders
            var canonical = DKIMCanonicalization.relaxedHeader(.init(name: "DKIM-Signature", raw: Array(unsigned.utf8)))
            canonical.removeLast(2)
            data.append(contentsOf: canonical)
            let signature = try key.sign(data).base64EncodedString()
            signatures.append(contentsOf: Array(unsigned.utf8))
            signatures.append(contentsOf: Array(Self.foldedValue(signature).utf8))
            signatures.append(contentsOf: [13, 10])
        }
        return signatures + message
    }

    /// The h= list, folded before a colon so no line runs past 78 characters.
    static func folded(_ names: [String]) -> String {
        var out = ""
        var line = 9  // "\th=" and what came before it on the line
        for (index, name) in names.enumerated() {
            let piece = index == 0 ? name : ":" + name
            if line + piece.count > 76 {
                out += "\r\n\t"
                line = 1
            }
            out += piece
            line += piece.count
        }
        return out
    }

    /// A base64 value in lines of 72 characters.
    static func foldedValue(_ value: String) -> String {
        var lines: [Substring] = []
        var rest = Substring(value)
        while !rest.isEmpty {
            lines.append(rest.prefix(72))
            rest = rest.dropFirst(72)
        }
        return lines.joined(separator: "\r\n\t")
    }
}
