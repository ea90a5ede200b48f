import Foundation

/// The DNS records a sending domain needs so that receivers accept its mail:
/// SPF names who may send for it, DKIM lets receivers check a signature, DMARC
/// tells them what to do when both fail. Kuvert hands mail to a relay and
/// signs nothing itself, so the DKIM key is the relay's.
public enum Deliverability {
    public struct Record: Sendable, Equatable {
        public var purpose: String
        public var name: String
        public var type: String
        public var value: String
        public var note: String
    }

    /// The records to publish for mail from `domain` sent through `relayHost`.
    public static func records(domain: String, relayHost: String?) -> [Record] {
        let localRelay = relayHost == nil || SettingSource.isLoopback(relayHost)
        let spf = localRelay
            ? "v=spf1 a mx -all"
            : "v=spf1 a:\(relayHost!) -all"
        return [
            Record(
                purpose: "SPF", name: "\(domain).", type: "TXT", value: spf,
                note: localRelay
                    ? "the mail server on this machine sends: list its public address (a, mx or ip4:)"
                    : "or the include: your relay documents (one SPF record per domain; merge with any you have)"),
            Record(
                purpose: "DKIM", name: "SELECTOR._domainkey.\(domain).", type: "TXT", value: "v=DKIM1; k=rsa; p=PUBLIC-KEY",
                note: "the selector and key come from whoever signs: your relay (Kuvert does not sign)"),
            Record(
                purpose: "DMARC", name: "_dmarc.\(domain).", type: "TXT",
                value: "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:dmarc-reports@\(domain)",
                note: "start with p=none while you read the reports, then quarantine or reject"),
        ]
    }
}
