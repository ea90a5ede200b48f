import Foundation
import KuvertTestSupport
import Testing
@testable import KuvertCore

@Suite("The files in Deploy/")
struct DeploymentTests {
    static let deploy = TestPaths.root.appendingPathComponent("Deploy").path

    /// Runs a program to its end; its status and its output, both streams together.
    func run(_ program: String, _ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("the systemd units pass systemd-analyze verify without a warning, with a low exposure score",
          arguments: ["kuvert.service", "kuvert-worker@.service"])
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

    @Test("the environment example is a valid configuration for a public server")
    func environmentExample() throws {
        let text = try String(contentsOfFile: Self.deploy + "/kuvert.env.example", encoding: .utf8)
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            settings[String(parts[0])] = String(parts[1])
        }
        let configuration = try Configuration(settings: settings)
        #expect(configuration.baseURL.hasPrefix("https://"))
        #expect(configuration.smtpRequireTLS)
        #expect(configuration.trustedProxies == ["127.0.0.1"])
        #expect(try SMTPSettings(configuration).url == "smtp://smtp.relay.example:587")
        #expect(try Mailbox(parsing: configuration.from).domain == "example.se")
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
