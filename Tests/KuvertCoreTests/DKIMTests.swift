import CLibcrypto
import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing
import _CryptoExtras

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("DKIM: Kuvert signs its own mail", .serialized)
struct DKIMTests {
    /// Keys for example.se (RSA and Ed25519) and lists.example.org (RSA),
    /// written and read back as kuvert would, made once: RSA key generation is slow.
    struct Keys: Sendable {
        let entries: [DKIMKeyDirectory.Entry]

        static let shared = Result { try Keys() }

        init() throws {
            let directory = Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let keys = DKIMKeyDirectory(dataDirectory: directory)
            _ = try keys.generate(domain: "example.se", selector: "kuvert", algorithm: .rsa)
            _ = try keys.generate(domain: "example.se", selector: "kuvert-ed25519", algorithm: .ed25519)
            _ = try keys.generate(domain: "lists.example.org", selector: "news", algorithm: .rsa)
            entries = try keys.load()
        }

        static func temporaryDirectory() -> String {
            FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-dkim-\(UUID().uuidString)").path
        }

        var signer: DKIMSigner { DKIMSigner(entries) }
        var records: [String: String] {
            Dictionary(uniqueKeysWithValues: entries.map { ($0.key.recordName, $0.key.recordValue) })
        }
    }

    @Test("RSA signs through the system's OpenSSL: the same bytes swift-crypto makes, for each key and input")
    func systemOpenSSL() throws {
        let keys = try Keys.shared.get().entries.map(\.key).filter { $0.algorithm == .rsa }
        #expect(keys.count == 2)
        var generator = SplitMix64(state: 36)
        for key in keys {
            for size in [0, 1, 55, 1_000, 10_000] {
                let data = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                let signature = try key.sign(data)
                #expect(signature.count == 256)
                guard case .rsa(let swiftCryptoKey, _) = key.privateKey else { continue }
                let reference = try swiftCryptoKey.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
                #expect(reference.rawRepresentation == signature, "\(key.recordName), \(size) bytes")
            }
        }
        #expect(throws: SystemRSAKeyError.self) { try SystemRSAKey(pem: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n") }
        // OpenSSL's queue of errors is left empty: libcurl reads it to explain its own TLS failures.
        #expect(ERR_peek_error() == 0)
        let ed25519 = try #require(try Keys.shared.get().entries.map(\.key).first { $0.algorithm == .ed25519 })
        #expect(throws: SystemRSAKeyError.self) { try SystemRSAKey(pem: ed25519.pem) }
    }

    @Test("relaxed canonicalisation, with RFC 6376's own example (3.4.6)")
    func canonicalisation() {
        let message = Array("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n".utf8)
        let (fields, bodyStart) = DKIMCanonicalization.split(message)
        #expect(fields.map(\.name) == ["A", "B "])
        let headers = fields.flatMap(DKIMCanonicalization.relaxedHeader)
        #expect(String(decoding: headers, as: UTF8.self) == "a:X\r\nb:Y Z\r\n")
        let body = DKIMCanonicalization.relaxedBody(message[bodyStart...])
        #expect(String(decoding: body, as: UTF8.self) == " C\r\nD E\r\n")
        // An empty body, and one of empty lines only, canonicalise to nothing.
        #expect(DKIMCanonicalization.relaxedBody(Array("\r\n\r\n".utf8)).isEmpty)
        #expect(DKIMCanonicalization.relaxedBody([UInt8]()).isEmpty)
        // A last line without CRLF gets one.
        #expect(DKIMCanonicalization.relaxedBody(Array("x  y".utf8)) == Array("x y\r\n".utf8))
    }

    @Test("a newsletter is signed with RSA, then Ed25519; both verifiers accept both; h= holds both List-Unsubscribe fields")
    func newsletter() async throws {
        let keys = try Keys.shared.get()
        let harness = try await MailerHarness(dkim: keys.signer) { $0.mail.from = "Föreningen Nyheter <news@example.se>" }
        try await harness.store.addList(
            name: "Nyheter från Föreningen, ett mycket långt namn som måste vikas över flera rader i huvudet",
            language: .sv
        )
        let raw = try await harness.newsletter(to: "reader@example.se", name: "Åsa Öberg")
        let report = try DKIMVerifiers.verify(raw, records: keys.records)
        #expect(report.signatures.map(\.a) == ["rsa-sha256", "ed25519-sha256"])
        #expect(report.signatures.allSatisfy { $0.d == "example.se" && $0.dkimpy })
        let h = try #require(report.signatures.first).h
        #expect(h.filter { $0 == "list-unsubscribe" }.count == 2 && h.filter { $0 == "list-unsubscribe-post" }.count == 2)
        #expect(h.filter { $0 == "from" }.count == 2 && h.filter { $0 == "subject" }.count == 2)
        #expect(report.allVerified, "\(report)")
    }

    @Test("confirmation, privacy and test mails verify too; a list's own From signs with its domain; a domain without a key goes unsigned")
    func everyKind() async throws {
        let keys = try Keys.shared.get()
        let harness = try await MailerHarness(dkim: keys.signer) { $0.mail.from = "Kuvert <news@example.se>" }
        try await harness.store.addList(name: "Nyheter", language: .sv)
        try await harness.store.addList("club", name: "Klubben", from: "Klubben <club@lists.example.org>")
        try await harness.store.addList("other", name: "Other", from: "Other <news@unsigned.example>")
        try await harness.subscribe("anna@example.se", name: "Anna Åkesson")
        try await harness.subscribe("bo@example.se", list: "club")
        try await harness.subscribe("cid@example.se", list: "other")
        _ = try await harness.store.database.requestPrivacyLink(try EmailAddress("anna@example.se"), resendWindow: 0, now: Date())
        let id = try await harness.campaign(subject: String(repeating: "Ett långt ämne om räksmörgåsar, ", count: 4))
        _ = try await harness.store.database.queueTestMessage(campaignId: id, to: try EmailAddress("editor@example.se"), now: Date())
        try await harness.withMailer { _ in try await harness.server.waitFor { harness.server.messages().count == 5 } }

        func report(to recipient: String, _ kind: String) throws -> DKIMVerifiers.Report {
            let mail = try #require(
                harness.server.messages().first { $0.to == [recipient] && String(decoding: $0.raw, as: UTF8.self).contains(kind) }
            )
            return try DKIMVerifiers.verify(mail.raw, records: keys.records)
        }
        // Confirmation and privacy mail (both to anna), and the test copy: RSA and Ed25519 of example.se.
        for (recipient, marker) in [("anna@example.se", "/confirm/"), ("anna@example.se", "/privacy/"), ("editor@example.se", "/unsubscribe/")] {
            let result = try report(to: recipient, marker)
            #expect(result.signatures.map(\.a) == ["rsa-sha256", "ed25519-sha256"], "\(marker)")
            #expect(result.signatures.allSatisfy { $0.d == "example.se" })
            #expect(result.allVerified, "\(marker): \(result)")
            // No list fields on confirmation and privacy mail, so none in h=.
            if marker != "/unsubscribe/" { #expect(!result.signatures[0].h.contains("list-id")) }
        }
        let club = try report(to: "bo@example.se", "/confirm/")
        #expect(club.signatures.map(\.d) == ["lists.example.org"] && club.signatures.map(\.s) == ["news"])
        #expect(club.allVerified, "\(club)")
        let unsigned = try #require(harness.server.messages().first { $0.to == ["cid@example.se"] })
        #expect(!String(decoding: unsigned.raw, as: UTF8.self).contains("DKIM-Signature"))
    }

    @Test("a message changed after signing fails with both verifiers: subject, body, an added From or List-Unsubscribe-Post")
    func tampering() async throws {
        let keys = try Keys.shared.get()
        let harness = try await MailerHarness(dkim: keys.signer) { $0.mail.from = "Kuvert <news@example.se>" }
        try await harness.store.addList(name: "Nyheter", language: .sv)
        let original = String(decoding: try await harness.newsletter(to: "reader@example.se"), as: UTF8.self)
        #expect(try DKIMVerifiers.verify(Data(original.utf8), records: keys.records).allVerified)
        let headerEnd = try #require(original.range(of: "\r\n\r\n"))
        for change in ["subject", "body", "added From", "added List-Unsubscribe-Post"] {
            var changed = original
            switch change {
            case "subject":
                let subject = try #require(changed.range(of: "\r\nSubject: "))
                changed.replaceSubrange(subject, with: "\r\nSubject: =?utf-8?q?Vinn_en_resa?=\r\nX-Old-Subject: ")
            case "body":
                changed = changed.replacingOccurrences(of: "=C3=A5rsm=C3=B6tet", with: "=C3=A5rsm=C3=B6te")
                #expect(changed != original)
            case "added From":
                changed.insert(contentsOf: "\r\nFrom: Bank <security@bank.example>", at: headerEnd.lowerBound)
            default:
                changed.insert(contentsOf: "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click", at: headerEnd.lowerBound)
            }
            let report = try DKIMVerifiers.verify(Data(changed.utf8), records: keys.records)
            #expect(report.signatures.count == 2)
            #expect(report.noneVerified, "\(change): \(report)")
        }
    }

    @Test("KUVERT_DKIM=off, no keys, or a key others can read: each says so")
    func keyFiles() throws {
        let path = Keys.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Settings(SettingSource(["KUVERT_DKIM": "off"])).mail.dkim == false)
        #expect(throws: KuvertError.self) { try Settings(SettingSource(["KUVERT_DKIM": "maybe"])) }
        let directory = DKIMKeyDirectory(dataDirectory: path)
        #expect(try directory.load().isEmpty)
        _ = try directory.generate(domain: "Exämple.SE", selector: "kuvert", algorithm: .ed25519)
        _ = try directory.generate(domain: "example.se", selector: "kuvert", algorithm: .rsa)
        #expect(try directory.load().map(\.key.recordName) == ["kuvert._domainkey.example.se", "kuvert._domainkey.xn--exmple-cua.se"])
        // A From domain finds its keys however it is written.
        let signer = DKIMSigner(try directory.load())
        #expect(signer.keys(for: "exämple.se").map(\.domain) == ["xn--exmple-cua.se"])
        #expect(signer.keys(for: "EXAMPLE.SE").map(\.algorithm) == [.rsa])
        #expect(signer.keys(for: "other.example").isEmpty)
        // Never overwritten, and one DNS name holds one key.
        #expect(throws: KuvertError.self) { try directory.generate(domain: "example.se", selector: "kuvert", algorithm: .rsa) }
        #expect(throws: KuvertError.self) { try directory.generate(domain: "EXAMPLE.se", selector: "kuvert", algorithm: .ed25519) }
        #expect(throws: KuvertError.self) { try directory.generate(domain: "example.se", selector: "bad selector", algorithm: .rsa) }
        let file = path + "/dkim/example.se/kuvert.rsa.pem"
        chmod(file, 0o640)
        #expect {
            try directory.load()
        } throws: { error in
            "\(error)".contains("The DKIM key \(file) can be read by others (mode 640)")
        }
    }

    @Test("the RSA record is SubjectPublicKeyInfo in quoted strings of at most 255 characters; Ed25519's is the raw key")
    func records() throws {
        let keys = try Keys.shared.get()
        let rsa = try #require(keys.entries.first { $0.key.algorithm == .rsa && $0.key.domain == "example.se" }).key
        #expect(rsa.recordName == "kuvert._domainkey.example.se")
        let p = try #require(rsa.recordValue.components(separatedBy: "p=").last)
        // SPKI of RSA starts with the rsaEncryption algorithm identifier.
        #expect(p.hasPrefix("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"))
        let strings = rsa.recordStrings.components(separatedBy: "\" \"")
        #expect(strings.count == 2)
        #expect(strings.allSatisfy { $0.replacingOccurrences(of: "\"", with: "").count <= 255 })
        #expect(rsa.recordStrings.replacingOccurrences(of: "\" \"", with: "").dropFirst().dropLast() == Substring(rsa.recordValue))
        let ed = try #require(keys.entries.first { $0.key.algorithm == .ed25519 }).key
        let edKey = try #require(ed.recordValue.components(separatedBy: "p=").last)
        let raw = try #require(Data(base64Encoded: edKey))
        #expect(raw.count == 32 && ed.recordValue.hasPrefix("v=DKIM1; k=ed25519; "))
    }
}

extension MailerHarness {
    /// The newsletter one confirmed subscriber of `news` gets, as the SMTP server caught it.
    func newsletter(to address: String, name: String? = nil) async throws -> Data {
        try await subscribe(address, name: name)
        let id = try await campaign()
        try await store.sql { db in
            try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = updatedAt")
            // The confirmation mail is not what these tests look at.
            try db.execute(sql: "UPDATE outboxMessage SET status = 'skipped'")
        }
        _ = try await store.database.queueCampaign(id: id, sendAt: Date(), now: Date(), batchSize: 10, actor: "cli")
        try await withMailer { _ in try await server.waitFor { self.server.messages().count == 1 } }
        return try #require(server.messages().first).raw
    }

    /// A draft campaign of the list `news`, in Swedish, with a subject that needs RFC 2047 words.
    func campaign(subject: String = "Höstens nyheter: årsmöte & räksmörgåsar") async throws -> Int64 {
        let body = "# Höstens nyheter\n\nVi ses på **årsmötet**.\n"
        let (html, text) = NewsletterMail.bodies(markdown: body)
        let campaign = try await store.database.createCampaign(
            Campaign(listId: 0, subject: subject, bodyMarkdown: body, bodyHTML: html, bodyText: text, status: .draft, createdAt: Date()),
            listSlug: "news",
            actor: "cli"
        )
        return try #require(campaign.id)
    }
}
