import Foundation
import GRDB

/// The SQLite store: the one place that opens transactions. Callers use methods
/// named for intent and never write SQL.
public struct AppDatabase: Sendable, StoreHealth {
    let writer: any DatabaseWriter
    /// The hot write paths (intake, confirmation, unsubscribe, delivery records)
    /// share transactions with whatever else is being written at that moment.
    let groupCommit: GroupCommit

    /// Opens or creates the store and migrates it to the current schema.
    /// - Parameter writer: a `DatabasePool` for files (WAL) or a queue in tests.
    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        self.groupCommit = GroupCommit(writer: writer)
        try Self.migrator.migrate(writer)
    }

    /// Opens the store file at `path` in WAL mode, creating it when missing.
    ///
    /// Several processes may use one file at once (the server and the CLI): each
    /// waits up to ten seconds for another's write lock.
    public static func open(path: String) throws -> AppDatabase {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try DataDirectory.prepare(directory) }
        return try AppDatabase(DatabasePool(path: path, configuration: connectionConfiguration()))
    }

    /// Settings for every connection.
    ///
    /// `synchronous = FULL` syncs the WAL at each commit, so an answered request is
    /// on disk even after a power loss. `secure_delete` overwrites deleted content,
    /// so erased personal data does not linger in free pages.
    static func connectionConfiguration() -> GRDB.Configuration {
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;")
        }
        return configuration
    }

    /// True when the store answers a query.
    public func isHealthy() async -> Bool {
        (try? await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

/// What `kuvert doctor` reports about the store.
public struct StoreDiagnosis: Sendable, Equatable {
    /// The newest migration applied.
    public var schema: String
    public var journalMode: String
    /// `PRAGMA quick_check`'s first line: `ok` when the file is sound.
    public var quickCheck: String
    public var lists: Int
}

extension AppDatabase {
    /// Schema version, journal mode and a quick integrity check.
    public func diagnose() async throws -> StoreDiagnosis {
        try await writer.read { db in
            StoreDiagnosis(
                schema: try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1") ?? "none",
                journalMode: try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "unknown",
                quickCheck: try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer",
                lists: try Int.fetchOne(db, sql: "SELECT count(*) FROM mailingList") ?? 0)
        }
    }
}
