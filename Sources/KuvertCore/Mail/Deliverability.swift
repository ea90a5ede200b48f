import Foundation

/// The DNS records a sending domain needs so that receivers accept its mail:
/// SPF names who may send for it, DKIM lets receivers check a signature, DMARC
/// tells them what to do when both fail. Kuvert signs with its own DKIM keys
/// (`kuvert dkim`), so the DKIM records are those of its keys.
public enum Deliverability {
    public struct Record: Sendable, Equatable {
        public var purpose: String
        public var name: String
        public var type: String
        public var value: String
        public var note: String

        /// The value as zone files and DNS hosts take it: quoted strings of at most 255 characters.
        public var quotedValue: String { Deliverability.quotedStrings(value) }
    }

    /// `text` as DNS TXT character-strings: quoted, at most 255 characters each.
    public static func quotedStrings(_ text: String) -> String {
        var chunks: [Substring] = []
        var rest = Substring(text)
        repeat {
            chunks.append(rest.prefix(255))
            rest = rest.dropFirst(255)
        } while !rest.isEmpty
        return chunks.map { "\"\($0)\"" }.joined(separator: " ")
    }

    /// The records to publish for mail from `domain` sent through `relayHost`
    /// and signed with `dkim` (the domain's keys; none leaves a placeholder).
    public static func records(domain: String, relayHost: String?, dkim: [DKIMKey] = []) -> [Record] {
        let localRelay = relayHost == nil || SettingSource.isLoopback(relayHost)
        let spf =
            localRelay
            ? "v=spf1 a mx -all"
            : "v=spf1 a:\(relayHost!) -all"
        return [
            Record(
                purpose: "SPF",
                name: "\(domain).",
                type: "TXT",
                value: spf,
                note: localRelay
                    ? "the mail server on this machine sends: list its public address (a, mx or ip4:)"
                    : "or the include: your relay documents (one SPF record per domain; merge with any you have)"
            )
        ] + dkimRecords(domain: domain, keys: dkim) + [
            Record(
                purpose: "DMARC",
                name: "_dmarc.\(domain).",
                type: "TXT",
                value: "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc-reports@\(domain)",
                note: "p=none while you read the reports; then p=quarantine, later p=reject"
            )
        ]
    }

    private static func dkimRecords(domain: String, keys: [DKIMKey]) -> [Record] {
        guard !keys.isEmpty else {
            return [
                Record(
                    purpose: "DKIM",
                    name: "SELECTOR._domainkey.\(domain).",
                    type: "TXT",
                    value: "v=DKIM1; k=rsa; p=PUBLIC-KEY",
                    note: "no key of Kuvert's signs this domain: run kuvert dkim generate \(domain)"
                )
            ]
        }
        return keys.map { key in
            Record(
                purpose: "DKIM",
                name: key.recordName + ".",
                type: "TXT",
                value: key.recordValue,
                note: "Kuvert signs with this \(key.strength) key (selector \(key.selector))"
            )
        }
    }
}
