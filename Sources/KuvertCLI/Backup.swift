import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert backup FILE`: a consistent copy while the server runs.
struct Backup: StoreCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the store to FILE, while Kuvert keeps running.",
        discussion: """
            SQLite: a copy through SQLite's online backup API; to restore, stop Kuvert, replace the database file with \
            the copy (and remove its -wal and -shm files), start Kuvert. PostgreSQL: pg_dump's custom format of one \
            snapshot; to restore, pg_restore --clean --dbname=DATABASE FILE with every node stopped.
            """
    )

    @Argument(help: "Where to write the copy; it must not exist yet.") var file: String
    @OptionGroup var options: ConfigurationOptions

    func run(with runtime: Runtime) async throws {
        guard !FileManager.default.fileExists(atPath: file) else {
            throw CommandFailure(message: "\(file) exists already; choose a new file name.")
        }
        let store = runtime.store
        // A copy of the store is as personal as the store: for the owner only,
        // whatever the umask (pg_dump inherits it too).
        let previous = umask(0o077)
        defer { umask(previous) }
        do {
            try store.backup(to: file)
            guard chmod(file, 0o600) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM) }
        } catch {
            try? FileManager.default.removeItem(atPath: file)
            throw CommandFailure(message: "Cannot write the backup to \(file): \(error)")
        }
        _ = try await store.recordAudit(AuditEvent(occurredAt: Date(), actor: "cli", action: "store.backup"), address: nil)
        print("Backed up the store to \(file).")
    }
}
