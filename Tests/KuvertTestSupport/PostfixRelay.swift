import Foundation

/// A real Postfix relay (`Tests/Support/postfix_relay.sh`) on a loopback port of
/// its own, with its own config, queue and data directories: STARTTLS with a
/// certificate from a throwaway CA and SASL AUTH (or, `plain`, neither TLS nor
/// protection of the password), relaying to `upstreamPort`. Stopped when freed.
public final class PostfixRelay: Sendable {
    public let directory: String
    public let port: Int
    public let user = "kuvert"
    public let password = "relay-secret-\(UUID().uuidString.prefix(8))"

    static let script = TestPaths.root.appendingPathComponent("Tests/Support/postfix_relay.sh").path

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Starts a relay (about two seconds: certificates, then Postfix's master)
    /// on a thread of its own, so the tests' two-thread cooperative pool is not
    /// blocked meanwhile.
    public static func start(upstreamPort: Int, plain: Bool = false) async throws -> PostfixRelay {
        try await startScriptedServer(script: script, name: "relay", make: PostfixRelay.init) { relay in
            [String(upstreamPort), relay.user, relay.password] + (plain ? ["plain"] : [])
        }
    }

    deinit {
        try? runServerScript(Self.script, ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The PEM file of the throwaway CA that signed the relay's certificate.
    public var caFile: String { directory + "/ca.pem" }

    /// `smtp://127.0.0.1:PORT`.
    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Kuvert's settings for sending through this relay with its user (no CA
    /// file: tests that want the relay trusted add `KUVERT_SMTP_CA_FILE`).
    public var environment: [String: String] {
        ["KUVERT_SMTP_URL": url, "KUVERT_SMTP_USER": user, "KUVERT_SMTP_PASSWORD": password]
    }

    /// Postfix's log of this relay so far.
    public func log() -> String {
        (try? String(contentsOfFile: directory + "/maillog", encoding: .utf8)) ?? ""
    }

    /// The commands of each SMTP session that ended, as smtpd counts them
    /// (`ehlo=2 starttls=1 auth=1 mail=1 ...`).
    public func sessions() -> [String] {
        log().split(separator: "\n").filter { $0.contains("postfix/smtpd") && $0.contains(" disconnect from ") }
            .map { String($0.split(separator: "]", maxSplits: 1).last ?? "") }
    }
}
