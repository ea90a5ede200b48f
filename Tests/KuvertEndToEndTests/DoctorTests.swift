import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("kuvert doctor", .serialized)
struct DoctorTests {
    @Test("against a relay that wants STARTTLS and AUTH: ok with the right password, FAIL with 535 for a wrong one; no mail either way")
    func smtpChecks() async throws {
        let upstream = try SMTPTestServer()
        let relay = try await PostfixRelay.start(upstreamPort: upstream.port)
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        _ = try await kuvert.newsList()
        let environment = relay.environment.merging([
            "KUVERT_SMTP_CA_FILE": relay.caFile, "KUVERT_FROM": "Föreningen <nyheter@forening.example>",
        ]) { $1 }
        let good = try await kuvert.run(["doctor"], environment: environment)
        #expect(good.status == 0, "\(good.stdout)")
        let smtpLine = try #require(good.stdout.split(separator: "\n").first { $0.hasPrefix("SMTP") })
        #expect(smtpLine.contains("ok"))
        #expect(smtpLine.contains("EHLO offers PIPELINING, SIZE") && smtpLine.contains("AUTH"))
        #expect(smtpLine.contains("STARTTLS used; AUTH accepted"))
        #expect(good.stdout.contains("store           ok"))
        #expect(good.stdout.contains("DNS records for mail from forening.example"))
        #expect(good.stdout.contains(#"_dmarc.forening.example. TXT "v=DMARC1;"#))
        #expect(!good.stdout.contains(relay.password))

        let bad = try await kuvert.run(["doctor"], environment: environment.merging(["KUVERT_SMTP_PASSWORD": "wrong"]) { $1 })
        #expect(bad.status == 1)
        let badLine = try #require(bad.stdout.split(separator: "\n").first { $0.hasPrefix("SMTP") })
        #expect(badLine.contains("FAIL"))
        #expect(badLine.contains("the relay refused the credentials") && badLine.contains("535"), "\(badLine)")
        #expect(upstream.messages().isEmpty)
        #expect(!relay.sessions().contains { $0.contains("mail=") })

        let refused = try await kuvert.run(["doctor"], environment: ["KUVERT_SMTP_URL": "smtp://127.0.0.1:1"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("Couldn't connect to server"))
    }

    @Test("DKIM: kuvert dkim generate prints the record, refuses to overwrite; kuvert dkim lists; doctor warns of a sending domain without a key")
    func dkim() async throws {
        let upstream = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        _ = try await kuvert.newsList()
        let terms = try kuvert.writeTerms("Club terms")
        #expect(try await kuvert.run("lists", "add", "club", "--name", "Club", "--terms", terms, "--from", "Club <club@other.example>").status == 0)
        let environment = ["KUVERT_SMTP_URL": upstream.url, "KUVERT_FROM": "Föreningen <nyheter@forening.example>"]

        let created = try await kuvert.run(["dkim", "generate", "forening.example"], environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("name:  kuvert._domainkey.forening.example"))
        let value = try #require(created.stdout.split(separator: "\n").first { $0.contains("value: ") })
        #expect(value.contains("\"v=DKIM1; k=rsa; p=MIIB") && value.contains("\" \""))
        let again = try await kuvert.run(["dkim", "generate", "forening.example"], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("it is never overwritten"))
        let ed = try await kuvert.run(["dkim", "generate", "forening.example", "--algorithm", "ed25519"], environment: environment)
        #expect(ed.stdout.contains("name:  kuvert-ed25519._domainkey.forening.example"), "\(ed.stdout)\(ed.stderr)")
        let listed = try await kuvert.run(["dkim"], environment: environment)
        #expect(listed.stdout.contains("forening.example  selector kuvert  2048-bit RSA") && listed.stdout.contains("Ed25519"))

        let doctor = try await kuvert.run(["doctor"], environment: environment)
        let line = try #require(doctor.stdout.split(separator: "\n").first { $0.hasPrefix("DKIM") })
        #expect(line.contains("warn") && line.contains("signs mail from forening.example (kuvert, rsa-sha256; kuvert-ed25519, ed25519-sha256)"))
        #expect(line.contains("no key for other.example"), "\(line)")
        // The record doctor prints is the key's own, in strings DNS takes.
        #expect(doctor.stdout.contains("DKIM   kuvert._domainkey.forening.example. TXT " + value.components(separatedBy: "value: ")[1]))
        let off = try await kuvert.run(["doctor"], environment: environment.merging(["KUVERT_DKIM": "off"]) { $1 })
        #expect(off.stdout.contains("KUVERT_DKIM=off: the relay must sign"))

        // kuvert worker signs what it sends with the keys it loaded at start:
        // a campaign's test copy, caught by a real SMTP server, verifies with both verifiers.
        let body = try kuvert.writeTerms("# Höstens nyheter\n\nVi ses på årsmötet.")
        let campaign = try await kuvert.run(
            ["campaign", "create", "--list", "news", "--subject", "Höstens nyheter", "--body", body],
            environment: environment
        )
        let id = campaign.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let worker = try kuvert.start("worker", environment: environment)
        defer {
            if worker.isRunning { worker.terminate() }
            worker.waitUntilExit()
        }
        let test = try await kuvert.run(["campaign", "test", id, "--to", "redaktion@forening.example"], environment: environment)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        let mail = try #require(upstream.messages().first { $0.to == ["redaktion@forening.example"] })
        let records = Dictionary(
            uniqueKeysWithValues: try DKIMKeyDirectory(dataDirectory: kuvert.dataDirectory).load()
                .map { ($0.key.recordName, $0.key.recordValue) }
        )
        let report = try DKIMVerifiers.verify(mail.raw, records: records)
        #expect(report.signatures.map(\.a) == ["rsa-sha256", "ed25519-sha256"] && report.allVerified, "\(report)")

        // A key others can read stops the mailer at start, with the fix.
        let key = kuvert.dataDirectory + "/dkim/forening.example/kuvert.rsa.pem"
        chmod(key, 0o644)
        let refused = try await kuvert.run(["worker"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr == "kuvert: The DKIM key \(key) can be read by others (mode 644): run chmod 600 \(key).\n")
    }
}
