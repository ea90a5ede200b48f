import Foundation
import KuvertFixtures
import KuvertTestSupport
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Settings")
struct SettingsTests {
    private func read(_ values: [String: String]) throws -> Settings {
        try Settings(SettingSource(values))
    }

    @Test("defaults make a laptop setup work")
    func defaults() throws {
        let settings = try read([:])
        #expect(settings.storage.store == .sqlite(path: "./data/kuvert.sqlite"))
        #expect(settings.http.listenHost == "127.0.0.1" && settings.http.listenPort == 8080)
        #expect(settings.subscriptions.confirmTTL == 7 * 86_400)
        #expect(settings.retention.retention == 730 * 86_400)
        #expect(settings.mailer.connections == 4)
        #expect(settings.smtp.url == "smtp://127.0.0.1:2525" && !settings.smtp.requireTLS)
    }

    @Test("settings override defaults and the database follows the data directory")
    func overrides() throws {
        let settings = try read([
            "KUVERT_DATA_DIR": "/var/lib/kuvert", "KUVERT_LISTEN": "[::1]:9000", "KUVERT_CONFIRM_TTL": "2d",
            "KUVERT_BASE_URL": "https://news.example.se/", "KUVERT_RESEND_WINDOW": "0", "KUVERT_RETRY_BASE": "15m",
            "KUVERT_LOG_LEVEL": "debug", "KUVERT_LOG_FORMAT": "json", "KUVERT_SMTP_CONNECTIONS": "",
        ])
        #expect(settings.storage.store == .sqlite(path: "/var/lib/kuvert/kuvert.sqlite"))
        #expect(settings.http.listenHost == "::1" && settings.http.listenPort == 9000)
        #expect(settings.subscriptions.confirmTTL == 2 * 86_400)
        #expect(settings.mail.baseURL == "https://news.example.se")
        #expect(settings.subscriptions.resendWindow == 0)
        #expect(settings.mailer.retryBase == 900)
        #expect(settings.logging.level == .debug && settings.logging.format == .json)
        // An empty value counts as unset.
        #expect(settings.mailer.connections == 4)
    }

    @Test(
        "bad values are refused with the setting's name, in one line",
        arguments: [
            ("KUVERT_LISTEN", "8080"), ("KUVERT_LISTEN", "host:99999"), ("KUVERT_CONFIRM_TTL", "7 days"),
            ("KUVERT_CONFIRM_TTL", "0"), ("KUVERT_BASE_URL", "ftp://x"), ("KUVERT_SMTP_CONNECTIONS", "0"),
            ("KUVERT_SEND_RATE", "-1"), ("KUVERT_SMTP_TLS", "maybe"), ("KUVERT_RETENTION", "-3d"),
            ("KUVERT_SMTP_CA_FILE", "/nonexistent/ca.pem"), ("KUVERT_SMTP_EHLO", "mail.example.se\r\nRSET"),
            ("KUVERT_SMTP_EHLO", "-bad-.example"), ("KUVERT_SMTP_EHLO", "two words"), ("KUVERT_SMTP_URL", "http://x"),
            ("KUVERT_LOG_LEVEL", "loud"), ("KUVERT_ANSWER_FLOOR", "6"), ("KUVERT_MAX_BODY", "10"),
            ("KUVERT_TRUSTED_PROXIES", "10.0.0.0/40"), ("KUVERT_UNSUBSCRIBE_MAILTO", "nobody"),
            ("KUVERT_API_RATE_LIMIT", "lots"), ("KUVERT_WEBHOOK_URL", "ftp://crm.example.se/in"),
            ("KUVERT_WEBHOOK_URL", "https://crm.example.se/in\r\nX: y"), ("KUVERT_WEBHOOK_SECRET", "only-the-secret"),
            ("KUVERT_FRAME_ANCESTORS", "www.example.se"), ("KUVERT_FRAME_ANCESTORS", "https://x.se; script-src *"),
            ("KUVERT_FRAME_ANCESTORS", " "), ("KUVERT_HEADER_TIMEOUT", "soon"), ("KUVERT_MAX_CONNECTIONS_PER_CLIENT", "0"),
        ]
    )
    func refusals(name: String, value: String) {
        do {
            _ = try read([name: value])
            Issue.record("\(name)=\(value) was accepted")
        } catch let KuvertError.configuration(message) {
            #expect(message.contains(name))
            #expect(!message.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a webhook needs both its URL and a secret of 16 characters or more; the secret is never shown")
    func webhook() throws {
        #expect(try read([:]).webhook == nil)
        let secret = String(repeating: "s3", count: 8)
        let set = try read(["KUVERT_WEBHOOK_URL": "https://crm.example.se/kuvert", "KUVERT_WEBHOOK_SECRET": secret])
        #expect(set.webhook == WebhookSettings(url: "https://crm.example.se/kuvert", secret: secret))
        #expect(throws: KuvertError.self) { try read(["KUVERT_WEBHOOK_URL": "https://crm.example.se/kuvert"]) }
        #expect(throws: KuvertError.self) { try read(["KUVERT_WEBHOOK_URL": "https://crm.example.se/kuvert", "KUVERT_WEBHOOK_SECRET": "short"]) }
        #expect(Settings.isSecret("KUVERT_WEBHOOK_SECRET", value: secret))
    }

    @Test("with credentials TLS is required unless KUVERT_SMTP_TLS says otherwise; the EHLO name goes into libcurl's URL")
    func smtpSecurity() throws {
        let plain = try read(["KUVERT_SMTP_URL": "smtp://relay.example.se:587"])
        #expect(!plain.smtp.requireTLS)
        let credentials = ["KUVERT_SMTP_URL": "smtp://relay.example.se:587", "KUVERT_SMTP_USER": "u", "KUVERT_SMTP_PASSWORD": "p"]
        #expect(try read(credentials).smtp.requireTLS)
        #expect(try !read(credentials.merging(["KUVERT_SMTP_TLS": "opportunistic"]) { $1 }).smtp.requireTLS)
        let named = try read(["KUVERT_SMTP_URL": "smtp://relay.example.se:587", "KUVERT_SMTP_EHLO": "mail.example.se"])
        #expect(named.smtp.url == "smtp://relay.example.se:587/mail.example.se")
        #expect(throws: KuvertError.self) {
            try read(["KUVERT_SMTP_URL": "smtp://relay.example.se:587/x.example", "KUVERT_SMTP_EHLO": "mail.example.se"])
        }
    }

    @Test("credentials in KUVERT_SMTP_URL are credentials: TLS required, taken out of the URL, never shown")
    func smtpURLCredentials() throws {
        let inURL = try read(["KUVERT_SMTP_URL": "smtp://mailer%40example.se:s3cr%2Ft@relay.example.se:587"])
        #expect(inURL.smtp.username == "mailer@example.se" && inURL.smtp.password == "s3cr/t")
        #expect(inURL.smtp.requireTLS)
        #expect(inURL.smtp.url == "smtp://relay.example.se:587")
        #expect(Settings.isSecret("KUVERT_SMTP_URL", value: "smtp://u:p@relay.example.se"))
        #expect(!Settings.isSecret("KUVERT_SMTP_URL", value: "smtp://relay.example.se"))
        #expect(Settings.isSecret("KUVERT_BOUNCE_MAILBOX", value: "imaps://b:p@imap.example.se/INBOX"))
        for (values, hint) in [
            (["KUVERT_SMTP_URL": "smtp://u:hunter2@relay.example.se", "KUVERT_SMTP_PASSWORD": "hunter2"], "keep one of them"),
            (["KUVERT_SMTP_URL": "http://u:hunter2@relay.example.se"], "http://u:***@relay.example.se"),
            (
                ["KUVERT_WEBHOOK_URL": "ftp://u:hunter2@crm.example.se/x", "KUVERT_WEBHOOK_SECRET": String(repeating: "s", count: 16)],
                "ftp://u:***@crm"
            ),
        ] {
            #expect {
                try read(values)
            } throws: { error in
                guard case let KuvertError.configuration(text) = error else { return false }
                return text.contains(hint) && !text.contains("hunter2")
            }
        }
    }

    @Test("a configuration file with CRLF line ends is read line by line, and an error shows no other line")
    func fileCRLF() throws {
        let values = try SettingsFile.parse(
            "KUVERT_SMTP_URL=smtp://relay.example.se:587\r\nKUVERT_SMTP_PASSWORD=hunter2\r\n",
            file: "kuvert.env"
        )
        #expect(values == ["KUVERT_SMTP_URL": "smtp://relay.example.se:587", "KUVERT_SMTP_PASSWORD": "hunter2"])
        #expect {
            try SettingsFile.parse("KUVERT_BASE_URL x\r\nKUVERT_SMTP_PASSWORD=hunter2\r\n", file: "kuvert.env")
        } throws: { error in
            "\(error)".contains("kuvert.env line 1 is no NAME=value line") && !"\(error)".contains("hunter2")
        }
    }

    @Test("a configuration file: NAME=value lines, comments, quotes; other programs' names left alone")
    func file() throws {
        let values = try SettingsFile.parse(
            """
            # Kuvert
            ; also a comment

              KUVERT_FROM = "Föreningen <news@example.se>"
            KUVERT_SMTP_URL='smtp://relay.example.se:587'
            KUVERT_SECRET=abc=def
            TZ=Europe/Stockholm\r
            """,
            file: "kuvert.env"
        )
        #expect(
            values == [
                "KUVERT_FROM": "Föreningen <news@example.se>", "KUVERT_SMTP_URL": "smtp://relay.example.se:587",
                "KUVERT_SECRET": "abc=def",
            ]
        )
    }

    @Test(
        "a configuration file with a typo or a line that is no setting is refused, naming the line",
        arguments: [
            ("KUVERT_BASE_URL=https://x.example\nKUVERT_SMPT_URL=smtp://x:25", "kuvert.env line 2: KUVERT_SMPT_URL is no Kuvert setting"),
            ("KUVERT_BASE_URL https://x.example", "kuvert.env line 1 is no NAME=value line"),
            ("\n\n=value", "kuvert.env line 3 is no NAME=value line"),
            ("KUVERT CONFIG=x", "kuvert.env line 1 is no NAME=value line"),
            ("KUVERT_CONFIG=/etc/other.env", "KUVERT_CONFIG is no Kuvert setting"),
        ]
    )
    func fileRefusals(text: String, message: String) {
        #expect {
            try SettingsFile.parse(text, file: "kuvert.env")
        } throws: { error in
            guard case let KuvertError.configuration(text) = error else { return false }
            return text.contains(message)
        }
    }

    @Test("a configuration file holding a secret must not be readable by everyone; a missing one is named")
    func filePermissions() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-\(UUID()).env").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "KUVERT_SMTP_PASSWORD=hunter2-hunter2\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        #expect {
            try SettingsFile.read(path)
        } throws: { error in
            guard case let KuvertError.configuration(text) = error else { return false }
            return text.contains("can be read by anyone (mode 644)") && !text.contains("hunter2")
        }
        chmod(path, 0o640)
        #expect(try SettingsFile.read(path) == ["KUVERT_SMTP_PASSWORD": "hunter2-hunter2"])
        #expect {
            try SettingsFile.read(path + ".missing")
        } throws: { error in
            "\(error)".contains("Cannot read the configuration file \(path).missing")
        }
    }

    @Test("KUVERT_DATABASE: a file path is SQLite; a postgres:// URL names a server, a socket directory, TLS; its password is never shown")
    func storeLocation() throws {
        #expect(try StoreLocation("/var/lib/kuvert/kuvert.sqlite") == .sqlite(path: "/var/lib/kuvert/kuvert.sqlite"))
        guard case .postgres(let server) = try StoreLocation("postgres://kuvert:s%40cret@db.example.se:5433/news?sslmode=require") else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(server.host == "db.example.se" && server.port == 5433 && server.database == "news")
        #expect(server.user == "kuvert" && server.password == "s@cret" && server.sslMode == .require && server.socketPath == nil)
        // In the log: no user@ for the redaction to take for an address, no password.
        let logged = try StoreLocation("postgres://kuvert:s%40cret@db.example.se:5433/news?sslmode=require").logText
        #expect(logged == "postgres://db.example.se:5433/news as kuvert")
        #expect(LogRedaction.addresses(in: logged) == logged)
        #expect(server.description == "postgres://kuvert@db.example.se:5433/news")
        guard case .postgres(let socket) = try StoreLocation("postgresql://kuvert@/kuvert?host=/run/postgresql") else {
            Issue.record("not PostgreSQL")
            return
        }
        #expect(socket.socketPath == "/run/postgresql/.s.PGSQL.5432" && socket.host == nil && socket.sslMode == .disable)
        for bad in [
            "postgres://db.example.se/news", "postgres://kuvert@db/news?sslmode=maybe", "postgres://kuvert@db/news?host=relative",
            "postgres://kuvert@db/news?application_name=x", "postgres://kuvert@/news?host=/run/pg&sslmode=require",
            "postgres://kuvert:hunter2@db:99999/news",
        ] {
            #expect {
                try StoreLocation(bad)
            } throws: { error in
                guard case let KuvertError.configuration(message) = error else { return false }
                return message.hasPrefix("KUVERT_DATABASE") && !message.contains("hunter2")
            }
        }
        // A URL with a password makes a configuration file a secret; a path does not.
        #expect(Settings.isSecret("KUVERT_DATABASE", value: "postgres://kuvert:pw@db/news"))
        #expect(!Settings.isSecret("KUVERT_DATABASE", value: "postgres://kuvert@db/news"))
        #expect(!Settings.isSecret("KUVERT_DATABASE", value: "/var/lib/kuvert/kuvert.sqlite"))
    }

    @Test("KUVERT_FRAME_ANCESTORS takes origins separated by spaces or commas; * by default")
    func frameAncestors() throws {
        #expect(try read([:]).security.frameAncestors == ["*"])
        #expect(
            try read(["KUVERT_FRAME_ANCESTORS": "https://www.example.se https://*.example.se:8443, 'self'"]).security.frameAncestors
                == ["https://www.example.se", "https://*.example.se:8443", "'self'"]
        )
    }

    @Test("every setting is in the README's configuration table")
    func documented() throws {
        let readme = try String(contentsOfFile: TestPaths.root.appendingPathComponent("README.md").path, encoding: .utf8)
        for name in Settings.names.sorted() + ["KUVERT_CONFIG"] {
            #expect(readme.contains("`\(name)`"), "\(name) is not in the README")
        }
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
        let storage = StorageSettings(dataDirectory: directory)
        let first = try SecretKeys.load(storage)
        let second = try SecretKeys.load(storage)
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
        let storage = StorageSettings(dataDirectory: directory)
        _ = try SecretKeys.load(storage)
        chmod(directory + "/secret.key", 0o644)
        do {
            _ = try SecretKeys.load(storage)
            Issue.record("a readable key file was accepted")
        } catch let KuvertError.configuration(message) {
            #expect(message.contains("can be read by others (mode 644)") && message.contains("chmod 600"))
        }
        chmod(directory + "/secret.key", 0o600)
        chmod(directory, 0o777)
        #expect(throws: KuvertError.self) { try SecretKeys.load(storage) }
        chmod(directory, 0o700)
        #expect(throws: Never.self) { try SecretKeys.load(storage) }
    }

    @Test("KUVERT_SECRET rotation: the new secret signs, the old one still verifies")
    func secretRotation() throws {
        let old = String(repeating: "o", count: 40)
        let new = String(repeating: "n", count: 40)
        var before = StorageSettings(dataDirectory: "/nonexistent")
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
        var storage = StorageSettings(dataDirectory: "/nonexistent")
        storage.secret = "too-short"
        #expect(throws: KuvertError.self) { try SecretKeys.load(storage) }
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
