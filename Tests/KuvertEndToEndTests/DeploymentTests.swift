import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The files in Deploy/")
struct DeploymentTests {
    static let deploy = TestPaths.root.appendingPathComponent("Deploy").path

    /// Runs a program to its end; its status and its output, both streams together.
    func run(
        _ program: String,
        _ arguments: [String],
        in directory: String,
        environment: [String: String]? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test(
        "every shipped nginx config passes nginx -t on this Debian's nginx, in a private prefix with a throwaway certificate",
        arguments: ["kuvert.conf", "kuvert-nodes.conf"]
    )
    func nginxConfig(name: String) throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-nginx-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let certificate = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=news.example.se",
                "-keyout", prefix + "/key.pem", "-out", prefix + "/cert.pem",
            ],
            in: prefix
        )
        #expect(certificate.status == 0, "\(certificate.output)")
        // The config as shipped, but for where certbot would have put the certificate.
        var config = try String(contentsOfFile: Self.deploy + "/nginx/" + name, encoding: .utf8)
        let certificates = try #require(try Regex(#"/etc/letsencrypt/live/[^/]+/fullchain\.pem"#).firstMatch(in: config))
        config.replaceSubrange(certificates.range, with: prefix + "/cert.pem")
        config = config.replacing(try Regex(#"/etc/letsencrypt/live/[^/]+/privkey\.pem"#), with: prefix + "/key.pem")
        #expect(!config.contains("/etc/letsencrypt"), "a certificate path was not replaced")
        try config.write(toFile: prefix + "/kuvert.conf", atomically: true, encoding: .utf8)
        // Included in the http context, as a file in sites-enabled is.
        try """
        pid \(prefix)/nginx.pid;
        error_log \(prefix)/logs/error.log;
        events {}
        http { include \(prefix)/kuvert.conf; }
        """.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        let checked = try run("/usr/sbin/nginx", ["-t", "-p", prefix, "-c", prefix + "/nginx.conf"], in: prefix)
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("test is successful"), "\(checked.output)")
    }

    @Test(
        "the systemd units pass systemd-analyze verify without a warning, with a low exposure score",
        arguments: ["kuvert.service", "kuvert-worker@.service"]
    )
    func units(name: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-units-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // verify checks that ExecStart's program exists: point it at the one just built.
        let unit = try String(contentsOfFile: Self.deploy + "/systemd/" + name, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/kuvert", with: KuvertCommand.executable.path)
        try unit.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        let instance = name.replacingOccurrences(of: "@.service", with: "@1.service")

        let verified = try run("/usr/bin/systemd-analyze", ["verify", name], in: directory)
        #expect(verified.status == 0)
        #expect(verified.output.isEmpty, "\(verified.output)")
        if instance != name {
            let instantiated = try run("/usr/bin/systemd-analyze", ["verify", instance], in: directory)
            #expect(instantiated.status == 0)
            #expect(instantiated.output.isEmpty, "\(instantiated.output)")
        }
        let security = try run("/usr/bin/systemd-analyze", ["security", "--offline=yes", name], in: directory)
        let exposure = security.output.split(separator: "\n").last { $0.contains("Overall exposure level") }
            .flatMap { line in line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) } }
        #expect(try #require(exposure, "\(security.output)") < 2.0)
    }

    @Test("the environment example is a valid configuration file for a public server")
    func environmentExample() throws {
        let text = try String(contentsOfFile: Self.deploy + "/kuvert.env.example", encoding: .utf8)
        let settings = try Settings(SettingSource(try SettingsFile.parse(text, file: "kuvert.env.example")))
        #expect(settings.mail.baseURL.hasPrefix("https://"))
        #expect(settings.smtp.requireTLS)
        #expect(settings.security.trustedProxies == ["127.0.0.1"])
        #expect(settings.smtp.url == "smtp://smtp.relay.example:587")
        #expect(try settings.mail.sender().domain == "example.se")
    }

    @Test("the several-machines example names a PostgreSQL store over TLS, a private listener and its proxy")
    func nodesExample() throws {
        let text = try String(contentsOfFile: Self.deploy + "/kuvert-nodes.env.example", encoding: .utf8)
        let settings = try Settings(SettingSource(try SettingsFile.parse(text, file: "kuvert-nodes.env.example")))
        guard case .postgres(let location) = settings.storage.store else {
            Issue.record("not a PostgreSQL store: \(settings.storage.store)")
            return
        }
        #expect(location.sslMode == .require && location.host == "db.internal" && location.password == "change-me")
        #expect(!settings.storage.store.description.contains("change-me"))
        #expect(settings.http.listenHost == "10.0.0.11" && settings.security.trustedProxies == ["10.0.0.10"])
        #expect(settings.mail.baseURL.hasPrefix("https://"))
        let nginx = try String(contentsOfFile: Self.deploy + "/nginx/kuvert-nodes.conf", encoding: .utf8)
        #expect(nginx.contains("server 10.0.0.11:8080") && nginx.contains("proxy_set_header X-Forwarded-For $remote_addr"))
    }

    @Test("kuvert-admin runs a command with the settings of the environment file, which kuvert reads itself")
    func adminScript() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-admin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/kuvert.env"
        try "KUVERT_DATABASE=\(directory)/admin.sqlite\nKUVERT_SMTP_PASSWORD=\"a secret\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o640)
        let environment = [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "KUVERT_ENV_FILE": file, "KUVERT_USER": "root",
            "KUVERT_BINARY": KuvertCommand.executable.path, "KUVERT_DATA_DIR_OVERRIDE": directory + "/data",
            "KUVERT_TEMPLATES_OVERRIDE": TestApp.templatesDirectory,
        ]
        let migrated = try run(Self.deploy + "/kuvert-admin", ["migrate"], in: directory, environment: environment)
        #expect(migrated.status == 0, "\(migrated.output)")
        #expect(migrated.output.contains("The store \(directory)/admin.sqlite has schema"))
        try "KUVERT_DATABSE=\(directory)/admin.sqlite\n".write(toFile: file, atomically: true, encoding: .utf8)
        let typo = try run(Self.deploy + "/kuvert-admin", ["lists"], in: directory, environment: environment)
        #expect(typo.status == 1)
        #expect(typo.output == "kuvert: \(file) line 1: KUVERT_DATABSE is no Kuvert setting (did you mean KUVERT_DATABASE?).\n")
    }

    @Test("the form snippet posts only fields the intake knows, with the honeypot")
    func formSnippet() throws {
        let html = try String(contentsOfFile: Self.deploy + "/form.html", encoding: .utf8)
        let form = String(html[try #require(html.range(of: "<form")).lowerBound...])
        let names = form.matches(of: /name="([a-z_]+)"/).map { String($0.1) }
        #expect(Set(names) == ["list", "locale", "email", "name", "website"])
        #expect(form.contains(#"action="https://news.example.se/subscribe""#))
    }
}
