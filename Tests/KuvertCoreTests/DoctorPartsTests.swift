import Foundation
import KuvertFixtures
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("What kuvert doctor reads from an SMTP session, and the DNS it advises")
struct DoctorPartsTests {
    @Test("a STARTTLS session with AUTH: extensions of the last EHLO, TLS and authentication seen")
    func probeTranscript() {
        let probe = SMTPProbe(
            error: nil,
            replies: [
                "220 mail.example.se ESMTP", "250-mail.example.se", "250-SIZE 1000", "250 STARTTLS",
                "220 2.0.0 Ready to start TLS", "250-mail.example.se", "250-SIZE 1000", "250-AUTH PLAIN", "250 ",
                "235 2.7.0 Authentication successful", "250 2.0.0 Ok",
            ]
        )
        #expect(probe.greeting == "220 mail.example.se ESMTP")
        #expect(probe.extensions == ["SIZE 1000", "AUTH PLAIN"])
        #expect(probe.usedSTARTTLS)
        #expect(probe.authenticated)
        let plain = SMTPProbe(error: nil, replies: ["220 sink", "250 sink", "250 Ok"])
        #expect(plain.extensions.isEmpty)
        #expect(!plain.usedSTARTTLS)
        #expect(!plain.authenticated)
    }

    @Test("SPF names the relay, DMARC reports to the domain, DKIM is left to the signer")
    func records() {
        let relayed = Deliverability.records(domain: "forening.example", relayHost: "smtp.relay.example")
        #expect(relayed.map(\.purpose) == ["SPF", "DKIM", "DMARC"])
        #expect(relayed[0].value == "v=spf1 a:smtp.relay.example -all")
        #expect(relayed[2].name == "_dmarc.forening.example.")
        #expect(relayed[2].value.contains("rua=mailto:dmarc-reports@forening.example"))
        // The record printed is the one the advice says to start with.
        #expect(relayed[2].value.contains("p=none;") && relayed[2].note.hasPrefix("p=none while you read the reports"))
        #expect(Deliverability.records(domain: "forening.example", relayHost: "127.0.0.1")[0].value == "v=spf1 a mx -all")
    }
}
