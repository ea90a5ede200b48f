import Foundation

/// A real Dovecot IMAP server (`Tests/Support/dovecot_imap.sh`) with one user,
/// on a loopback port of its own, with its own config, run and mail
/// directories; stopped when freed.
public final class DovecotIMAP: Sendable {
    public let directory: String
    public let port: Int
    public let user = "bounces"
    public let password = "imap-secret-\(UUID().uuidString.prefix(8))"

    static let script = TestPaths.root.appendingPathComponent("Tests/Support/dovecot_imap.sh").path

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    public static func start() async throws -> DovecotIMAP {
        try await startScriptedServer(script: script, name: "imap", make: DovecotIMAP.init) { imap in [imap.user, imap.password] }
    }

    deinit {
        try? runServerScript(Self.script, ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `KUVERT_BOUNCE_MAILBOX` for this server's INBOX.
    public var mailboxURL: String { "imap://\(user):\(password)@127.0.0.1:\(port)/INBOX" }

    var maildir: String { directory + "/home/\(user)/Maildir" }

    /// Delivers `message` into the INBOX, as a local delivery agent would.
    public func deliver(_ message: [UInt8], name: String) throws {
        let path = maildir + "/new/\(name)"
        try Data(message).write(to: URL(fileURLWithPath: path))
        var owner = passwd()
        var buffer = [CChar](repeating: 0, count: 1024)
        var result: UnsafeMutablePointer<passwd>?
        getpwnam_r("nobody", &owner, &buffer, buffer.count, &result)
        chown(path, owner.pw_uid, owner.pw_gid)
    }

    /// How many messages the INBOX holds now (new and seen).
    public func count() -> Int {
        ["new", "cur"].reduce(0) { total, folder in
            total + ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/" + folder))?.count ?? 0)
        }
    }
}
