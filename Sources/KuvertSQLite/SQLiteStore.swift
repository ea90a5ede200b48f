import Foundation
import GRDB
import KuvertCore

/// The SQLite store: the one place that opens transactions. Callers use methods
/// named for intent and never write SQL.
public struct SQLiteStore: Sendable, StoreHealth {
    package let writer: any DatabaseWriter
    /// The hot write paths (intake, confirmation, unsubscribe, delivery records)
    /// share transactions with whatever else is being written at that moment.
    let groupCommit: GroupCommit

    /// Opens the store, migrating it or checking its schema.
    ///
    /// A store migrated by a newer Kuvert (a migration this binary does not
    /// know) is refused either way: this binary could misread it.
    /// - Parameter writer: a `DatabasePool` for files (WAL) or a queue in tests.
    /// - Throws: `KuvertError.configuration` for a store that is newer than this
    ///   binary, or not yet migrated with `.requireCurrent`.
    public init(_ writer: any DatabaseWriter, schema: SchemaPolicy = .migrate, name: String = "the store") throws {
        self.writer = writer
        self.groupCommit = GroupCommit(writer: writer)
        let migrator = Self.migrator
        let (superseded, current, newest) = try writer.read { db in
            (
                try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db),
                try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted().last
            )
        }
        if superseded {
            throw KuvertError.configuration(
                "\(name) has a newer schema (\(newest ?? "unknown")) than this kuvert knows (\(migrator.migrations.last ?? "none")): install the newer kuvert."
            )
        }
        switch schema {
        case .migrate where !current:
            try migrator.migrate(writer)
        case .requireCurrent where !current:
            throw KuvertError.configuration(
                "\(name) has no schema or an older one: run 'kuvert migrate' (kuvert serve and kuvert worker do it at start)."
            )
        case .migrate, .requireCurrent:
            break
        }
    }

    /// Opens the store file at `path` in WAL mode, creating it when missing.
    ///
    /// Several processes may use one file at once (the server and the CLI): each
    /// waits up to ten seconds for another's write lock. Processes that start at
    /// once on a new file migrate it one after the other (an exclusive lock on
    /// `PATH-migrate.lock`): the second finds the schema in place.
    public static func open(path: String, schema: SchemaPolicy = .migrate) throws -> SQLiteStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try DataDirectory.prepare(directory) }
        if schema == .requireCurrent && !FileManager.default.fileExists(atPath: path) {
            throw KuvertError.configuration(
                "There is no store at \(path) yet: run 'kuvert migrate' (kuvert serve and kuvert worker do it at start)."
            )
        }
        guard schema == .migrate else {
            return try SQLiteStore(
                DatabasePool(path: path, configuration: connectionConfiguration()),
                schema: schema,
                name: "The store \(path)"
            )
        }
        // Opening a new file switches it to WAL, which SQLite refuses at once
        // ("database is locked", no busy wait) while another process does the
        // same: the pool is opened under the lock too.
        return try MigrationLock.holding(path + "-migrate.lock") {
            try SQLiteStore(
                DatabasePool(path: path, configuration: connectionConfiguration()),
                schema: schema,
                name: "The store \(path)"
            )
        }
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

    /// True when a write commits: the header's `user_version` (which Kuvert
    /// does not use) set to what it is, which SQLite still writes and syncs.
    public func canWrite() async -> Bool {
        do {
            try await writer.write { db in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                try db.execute(sql: "PRAGMA user_version = \(version)")
            }
            return true
        } catch {
            return false
        }
    }

    /// SQLite's result codes that mean the file, not the request, is the problem.
    public func unavailability(of error: any Error) -> StoreUnavailable? {
        guard let error = error as? DatabaseError else { return nil }
        let detail = "SQLite error \(error.extendedResultCode.rawValue): \(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_FULL: return StoreUnavailable(.diskFull, detail: detail)
        case .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreUnavailable(.cannotWrite, detail: detail)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreUnavailable(.busy, detail: detail)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_NOMEM, .SQLITE_PROTOCOL:
            return StoreUnavailable(.failed, detail: detail)
        default: return nil
        }
    }
}

extension SQLiteStore {
    /// Schema version, journal mode and a quick integrity check (`PRAGMA
    /// quick_check`'s first line: `ok` when the file is sound).
    public func diagnosis() async throws -> StoreDiagnosis {
        try await writer.read { db in
            let journal = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "unknown"
            let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
            return StoreDiagnosis(
                schema: try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1") ?? "none",
                lists: try Int.fetchOne(db, sql: "SELECT count(*) FROM mailingList") ?? 0,
                facts: ["journal \(journal)", "quick_check \(check)"],
                sound: check == "ok" && journal == "wal"
            )
        }
    }
}

/// One process owns a SQLite store: its rate limits stay in memory.
extension SQLiteStore: RateLimitSharing {}

// One machine's processes share the data directory's key file: nothing to check.
extension SQLiteStore: SharedKeys {}
