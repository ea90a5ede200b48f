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

public enum PostfixRelayError: Error { case didNotStart(String) }

/// A loopback port nobody listens on now (bound, read and closed again).
public func freeLoopbackPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Starts a server of the tests' own (Postfix, Dovecot) with `script start DIR PORT
/// arguments…`, on a thread of its own (the tests' two-thread cooperative pool
/// is not blocked meanwhile). The port is free when picked, but another test may
/// bind it before Postfix does: a start that fails is tried again on a new
/// port, twice.
func startScriptedServer<Instance>(
    script: String, name: String, make: (String, Int) -> Instance, arguments: (Instance) -> [String]
) async throws -> Instance {
    var failures: [String] = []
    for _ in 0..<3 {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let instance = make(directory, port)
        let command = ["start", directory, String(port)] + arguments(instance)
        do {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                Thread { done.resume(with: Result { try runServerScript(script, command) }) }.start()
            }
            return instance
        } catch PostfixRelayError.didNotStart(let reason) {
            failures.append(reason)
        }
    }
    throw PostfixRelayError.didNotStart(failures.joined(separator: "\n"))
}

/// Runs one of the server scripts (Tests/Support); throws with its standard
/// error when it fails. Through `TestProcess` (posix_spawn and waitpid):
/// Foundation's `Process` never saw a script end once it had started a daemon
/// (Dovecot, PostgreSQL).
func runServerScript(_ script: String, _ arguments: [String]) throws {
    let result = try TestProcess.run(["/bin/bash", script] + arguments)
    guard result.status == 0 else { throw PostfixRelayError.didNotStart(result.stderr) }
}
