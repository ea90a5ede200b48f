import Foundation

/// A real Postfix (`Tests/Support/postfix_mx.sh`) that takes mail for
/// `kuvert.test` and bounces what has no mailbox there, hands mail for the
/// bounce domain to an LMTP port, and expires mail for `expired.kuvert.test` at
/// once. On a loopback port of its own, with its own config, queue and data
/// directories; stopped when freed.
public final class PostfixMX: Sendable {
    public let directory: String
    public let port: Int

    static let script = TestPaths.root.appendingPathComponent("Tests/Support/postfix_mx.sh").path

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// Starts an instance that hands mail for `bounceDomain` to 127.0.0.1:`lmtpPort`.
    public static func start(lmtpPort: Int, bounceDomain: String = "bounces.kuvert.test") async throws -> PostfixMX {
        try await startScriptedServer(script: script, name: "mx", make: PostfixMX.init) { _ in [String(lmtpPort), bounceDomain] }
    }

    deinit {
        try? runServerScript(Self.script, ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `smtp://127.0.0.1:PORT`.
    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Postfix's log of this instance so far.
    public func log() -> String {
        (try? String(contentsOfFile: directory + "/maillog", encoding: .utf8)) ?? ""
    }
}
