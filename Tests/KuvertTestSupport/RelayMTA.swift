import Foundation

/// A real Exim or OpenSMTPD as the relay Kuvert sends through
/// (`Tests/Support/exim_relay.sh`, `opensmtpd_relay.sh`, run from Debian's
/// packages unpacked beside the system's Postfix, see `unpacked_mta.sh`): it
/// passes mail on to an SMTP server of the tests (which refuses some
/// recipients) and bounces what that refuses in its own words. Exim puts the
/// bounces in a Maildir (`bounceFiles()`), OpenSMTPD hands them to an LMTP
/// port. Loopback ports of its own, its own config and spool; stopped when freed.
public final class RelayMTA: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case exim
        case opensmtpd
    }

    public let kind: Kind
    public let directory: String
    public let port: Int

    private init(kind: Kind, directory: String, port: Int) {
        self.kind = kind
        self.directory = directory
        self.port = port
    }

    static func script(_ kind: Kind) -> String {
        TestPaths.root.appendingPathComponent("Tests/Support/\(kind.rawValue)_relay.sh").path
    }

    /// Starts a relay to the SMTP server on `sinkPort`; OpenSMTPD hands the
    /// bounce domain's mail to 127.0.0.1:`lmtpPort`.
    public static func start(_ kind: Kind, sinkPort: Int, lmtpPort: Int, bounceDomain: String = "bounces.kuvert.test") async throws -> RelayMTA {
        let arguments = kind == .exim ? [String(sinkPort), bounceDomain] : [String(sinkPort), String(lmtpPort), bounceDomain]
        return try await startScriptedServer(
            script: script(kind),
            name: kind.rawValue,
            make: { RelayMTA(kind: kind, directory: $0, port: $1) },
            arguments: { _ in arguments }
        )
    }

    deinit {
        try? runServerScript(Self.script(kind), ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `smtp://127.0.0.1:PORT`.
    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// The bounces Exim delivered to its Maildir, oldest first.
    public func bounceFiles() -> [String] {
        let folder = directory + "/bounces/new"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().map { folder + "/" + $0 }
    }

    /// The relay's log so far.
    public func log() -> String {
        let path = kind == .exim ? directory + "/log/mainlog" : directory + "/smtpd.log"
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
