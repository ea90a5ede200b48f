import Foundation
import Testing
@testable import KuvertCore

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults make a laptop setup work")
    func defaults() throws {
        let configuration = try Configuration(settings: [:])
        #expect(configuration.databasePath == "./data/kuvert.sqlite")
        #expect(configuration.listenHost == "127.0.0.1" && configuration.listenPort == 8080)
        #expect(configuration.confirmTTL == 7 * 86_400)
        #expect(configuration.retention == 730 * 86_400)
        #expect(configuration.smtpConnections == 4)
    }

    @Test("settings override defaults and the database follows the data directory")
    func settings() throws {
        let configuration = try Configuration(settings: [
            "KUVERT_DATA_DIR": "/var/lib/kuvert", "KUVERT_LISTEN": "[::1]:9000", "KUVERT_CONFIRM_TTL": "2d",
            "KUVERT_BASE_URL": "https://news.example.se/", "KUVERT_RESEND_WINDOW": "0", "KUVERT_RETRY_BASE": "15m",
        ])
        #expect(configuration.databasePath == "/var/lib/kuvert/kuvert.sqlite")
        #expect(configuration.listenHost == "::1" && configuration.listenPort == 9000)
        #expect(configuration.confirmTTL == 2 * 86_400)
        #expect(configuration.baseURL == "https://news.example.se")
        #expect(configuration.resendWindow == 0)
        #expect(configuration.retryBase == 900)
    }

    @Test("bad values are refused with the setting's name", arguments: [
        ("KUVERT_LISTEN", "8080"), ("KUVERT_LISTEN", "host:99999"), ("KUVERT_CONFIRM_TTL", "7 days"),
        ("KUVERT_CONFIRM_TTL", "0"), ("KUVERT_BASE_URL", "ftp://x"), ("KUVERT_SMTP_CONNECTIONS", "0"),
        ("KUVERT_SEND_RATE", "-1"), ("KUVERT_SMTP_TLS", "maybe"), ("KUVERT_RETENTION", "-3d"),
        ("KUVERT_SMTP_CA_FILE", "/nonexistent/ca.pem"), ("KUVERT_SMTP_EHLO", "mail.example.se\r\nRSET"),
        ("KUVERT_SMTP_EHLO", "-bad-.example"), ("KUVERT_SMTP_EHLO", "two words"),
    ])
    func refusals(name: String, value: String) {
        do {
            _ = try Configuration(settings: [name: value])
            Issue.record("\(name)=\(value) was accepted")
        } catch let KuvertError.configuration(message) {
            #expect(message.contains(name))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("with credentials TLS is required unless KUVERT_SMTP_TLS says otherwise; the EHLO name goes into libcurl's URL")
    func smtpSecurity() throws {
        let plain = try Configuration(settings: ["KUVERT_SMTP_URL": "smtp://relay.example.se:587"])
        #expect(!plain.smtpRequireTLS)
        let credentials = ["KUVERT_SMTP_URL": "smtp://relay.example.se:587", "KUVERT_SMTP_USER": "u", "KUVERT_SMTP_PASSWORD": "p"]
        #expect(try Configuration(settings: credentials).smtpRequireTLS)
        #expect(try !Configuration(settings: credentials.merging(["KUVERT_SMTP_TLS": "opportunistic"]) { $1 }).smtpRequireTLS)
        let named = try Configuration(settings: ["KUVERT_SMTP_URL": "smtp://relay.example.se:587", "KUVERT_SMTP_EHLO": "mail.example.se"])
        #expect(try SMTPSettings(named).url == "smtp://relay.example.se:587/mail.example.se")
        let both = try Configuration(settings: ["KUVERT_SMTP_URL": "smtp://relay.example.se:587/x.example", "KUVERT_SMTP_EHLO": "mail.example.se"])
        #expect(throws: KuvertError.self) { try SMTPSettings(both) }
    }

    @Test("a libcurl option refused at setup stops the session with the setting's name; nothing is sent")
    func refusedOption() throws {
        // libcurl refuses URLs over 8 MB with CURLE_BAD_FUNCTION_ARGUMENT.
        let settings = SMTPSettings(url: "smtp://127.0.0.1:1/" + String(repeating: "a", count: 9_000_000))
        do {
            _ = try SMTPTransport(settings: settings)
            Issue.record("the session was set up")
        } catch let KuvertError.configuration(message) {
            #expect(message.contains("libcurl refused KUVERT_SMTP_URL") && message.contains("no mail is sent"), "\(message)")
        }
    }

    @Test("the key file is created once with mode 0600 and read back")
    func keyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-key-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = Configuration(dataDirectory: directory)
        let first = try SecretKeys.load(configuration)
        let second = try SecretKeys.load(configuration)
        #expect(first.count == 1)
        let token = Token(purpose: .privacy, subject: "1", expiresAt: nil)
        #expect(throws: Never.self) {
            try TokenSigner(keys: second).verify(TokenSigner(keys: first).sign(token), purpose: .privacy, now: Date())
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/secret.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let directoryAttributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((directoryAttributes[.posixPermissions] as? Int) == 0o700)
    }

    @Test("a key file others can read, or a data directory others can write, is refused at start")
    func permissions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-perm-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = Configuration(dataDirectory: directory)
        _ = try SecretKeys.load(configuration)
        chmod(directory + "/secret.key", 0o644)
        do {
            _ = try SecretKeys.load(configuration)
            Issue.record("a readable key file was accepted")
        } catch let KuvertError.configuration(message) {
            #expect(message.contains("can be read by others (mode 644)") && message.contains("chmod 600"))
        }
        chmod(directory + "/secret.key", 0o600)
        chmod(directory, 0o777)
        #expect(throws: KuvertError.self) { try SecretKeys.load(configuration) }
        chmod(directory, 0o700)
        #expect(throws: Never.self) { try SecretKeys.load(configuration) }
    }

    @Test("KUVERT_SECRET rotation: the new secret signs, the old one still verifies")
    func secretRotation() throws {
        let old = String(repeating: "o", count: 40)
        let new = String(repeating: "n", count: 40)
        var before = Configuration(dataDirectory: "/nonexistent")
        before.secret = old
        var after = before
        after.secret = new + ", " + old
        let issued = TokenSigner(keys: try SecretKeys.load(before)).sign(Token(purpose: .unsubscribe, subject: "7", expiresAt: nil))
        let rotated = TokenSigner(keys: try SecretKeys.load(after))
        #expect(throws: Never.self) { try rotated.verify(issued, purpose: .unsubscribe, now: Date()) }
        let fresh = rotated.sign(Token(purpose: .unsubscribe, subject: "7", expiresAt: nil))
        #expect(throws: TokenError.invalid) { try TokenSigner(keys: try SecretKeys.load(before)).verify(fresh, purpose: .unsubscribe, now: Date()) }
        after.secret = new + ",short"
        #expect(throws: KuvertError.self) { try SecretKeys.load(after) }
    }

    @Test("a short KUVERT_SECRET is refused")
    func shortSecret() {
        var configuration = Configuration(dataDirectory: "/nonexistent")
        configuration.secret = "too-short"
        #expect(throws: KuvertError.self) { try SecretKeys.load(configuration) }
    }

    @Test("Accept-Language picks the best supported language by weight")
    func acceptLanguage() {
        #expect(Language.preferred(acceptLanguage: "sv-SE,sv;q=0.9,en;q=0.8") == .sv)
        #expect(Language.preferred(acceptLanguage: "de-DE,en;q=0.5,sv;q=0.7") == .sv)
        #expect(Language.preferred(acceptLanguage: "en-GB") == .en)
        #expect(Language.preferred(acceptLanguage: "de, fr") == nil)
        #expect(Language.preferred(acceptLanguage: "sv;q=0") == nil)
    }
}
