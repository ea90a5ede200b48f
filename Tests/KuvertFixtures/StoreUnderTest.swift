import Foundation
import GRDB
import KuvertPostgres
import KuvertSQLite
import KuvertTestSupport
import Logging
import Testing

@testable import KuvertCore

/// GRDB's database connection, named for tests that inspect a SQLite store directly.
package typealias GRDBDatabase = GRDB.Database

/// The two stores every scenario runs against.
package enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    package var testDescription: String { rawValue }
}

/// The tests' one store fixture: a store of either kind, fresh for one test,
/// and what the store protocols do not offer: counting rows and reading or
/// writing a column for a scenario's set-up. The two schemas share their names,
/// so one SQL text serves both.
///
/// `StoreUnderTest()` is a SQLite store in a temporary directory of its own,
/// removed when the value is freed; `with(_:_:)` opens either kind for the
/// length of a closure.
package final class StoreUnderTest: Sendable {
    package let kind: StoreKind
    package let store: any KuvertStore
    private let sqlite: (database: SQLiteStore, directory: String)?
    private let postgres: (store: PostgresStore, cluster: PostgresCluster, database: String)?

    private init(
        kind: StoreKind,
        store: any KuvertStore,
        sqlite: (SQLiteStore, String)?,
        postgres: (PostgresStore, PostgresCluster, String)?
    ) {
        self.kind = kind
        self.store = store
        self.sqlite = sqlite
        self.postgres = postgres
    }

    /// A fresh, migrated SQLite store in a temporary directory of its own.
    package convenience init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-store-\(UUID().uuidString)").path
        let database = try SQLiteStore.open(path: directory + "/kuvert.sqlite")
        self.init(kind: .sqlite, store: database, sqlite: (database, directory), postgres: nil)
    }

    deinit {
        if let sqlite { try? FileManager.default.removeItem(atPath: sqlite.directory) }
    }

    /// The SQLite store, for tests of what only it has (its journal, its SQL).
    package var database: SQLiteStore {
        guard let sqlite else { preconditionFailure("a SQLite store's member asked of a \(kind) store") }
        return sqlite.database
    }

    /// The SQLite store's directory: a data directory for the test's settings.
    package var directory: String {
        guard let sqlite else { preconditionFailure("a SQLite store's member asked of a \(kind) store") }
        return sqlite.directory
    }

    /// Runs GRDB code the store offers no method for on the SQLite store, to set
    /// up or inspect a scenario.
    package func sql<T: Sendable>(_ work: @Sendable @escaping (GRDBDatabase) throws -> T) async throws -> T {
        try await database.writer.write(work)
    }

    /// `body` with a fresh, migrated store of `kind`, closed and removed afterwards.
    package static func with(_ kind: StoreKind, _ body: (StoreUnderTest) async throws -> Void) async throws {
        let subject: StoreUnderTest
        switch kind {
        case .sqlite:
            subject = try StoreUnderTest()
        case .postgres:
            let cluster = try #require(SharedCluster.current, "the suite needs the .postgresCluster trait")
            let name = "scenario_" + UUID().uuidString.prefix(8).lowercased()
            let url = try cluster.createDatabase(name)
            guard case .postgres(let location) = try StoreLocation(url) else { throw StoreKindMismatch() }
            var logger = Logger(label: "kuvert.test.postgres")
            logger.logLevel = .error
            // Patient: the whole suite starts at once on two cores, and the pool's
            // threads may all be busy for longer than a server would wait.
            let store = try await PostgresStore.open(location, schema: .migrate, logger: logger, patience: .seconds(120))
            subject = StoreUnderTest(kind: kind, store: store, sqlite: nil, postgres: (store, cluster, name))
        }
        do {
            try await body(subject)
        } catch {
            await subject.close()
            throw error
        }
        await subject.close()
    }

    private func close() async {
        if let postgres { await postgres.store.close() }
    }

    /// Another node's store on the same database, as a second `kuvert serve`
    /// (or the same one after a restart) opens it; closed after `body`.
    package func anotherNode(_ body: (any KuvertStore) async throws -> Void) async throws {
        if let sqlite {
            try await body(try SQLiteStore.open(path: sqlite.directory + "/kuvert.sqlite"))
            return
        }
        let (_, cluster, database) = try #require(postgres)
        let url = cluster.url.replacingOccurrences(of: "/kuvert?", with: "/\(database)?")
        guard case .postgres(let location) = try StoreLocation(url) else { throw StoreKindMismatch() }
        var logger = Logger(label: "kuvert.test.postgres")
        logger.logLevel = .error
        let store = try await PostgresStore.open(location, schema: .migrate, logger: logger, patience: .seconds(120))
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// The first column of every row of `sql`, as text (NULL as "NULL").
    package func texts(_ sql: String) async throws -> [String] {
        if let sqlite {
            return try await sqlite.database.writer.read { db in
                try Row.fetchAll(db, sql: sql).map { row in
                    let value: DatabaseValue = row[0]
                    switch value.storage {
                    case .null: return "NULL"
                    case .int64(let number): return "\(number)"
                    case .double(let number): return "\(number)"
                    case .string(let text): return text
                    case .blob(let data): return data.base64EncodedString()
                    }
                }
            }
        }
        let (_, cluster, database) = try #require(postgres)
        let result = try cluster.psql(sql, database: database, null: "NULL")
        guard result.status == 0 else { throw FixtureFailure(sql: sql, reason: result.output) }
        return result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { String($0) }
    }

    /// Rows of `table` matching `condition`.
    package func count(_ table: String, where condition: String = "1 = 1") async throws -> Int {
        Int(try await texts("SELECT count(*) FROM \(table) WHERE \(condition)").first ?? "") ?? -1
    }

    /// Runs statements that set up a scenario.
    package func execute(_ sql: String) async throws {
        if let sqlite {
            try await sqlite.database.writer.write { db in try db.execute(sql: sql) }
            return
        }
        let (_, cluster, database) = try #require(postgres)
        let result = try cluster.psql(sql, database: database)
        guard result.status == 0 else { throw FixtureFailure(sql: sql, reason: result.output) }
    }

    /// Runs `work` on a thread of its own, as the mailer's threads call the
    /// blocking `DeliveryStore` (never from the cooperative pool, which
    /// PostgreSQL's bridge needs free).
    package func delivery<T: Sendable>(_ work: @escaping @Sendable (any DeliveryStore) throws -> T) async throws -> T {
        let store = store
        return try await onThread { try work(store) }
    }

    /// Creates a list with one terms version.
    @discardableResult
    package func addList(
        _ slug: String = "news",
        name: String? = nil,
        language: Language = .en,
        terms: String = "# Terms\n\nBe nice.",
        thanksURL: String? = nil,
        from: String? = nil
    ) async throws -> MailingList {
        try await store.createList(
            MailingList(
                slug: slug,
                name: name ?? "News of \(slug)",
                fromAddress: from,
                thanksURL: thanksURL,
                language: language,
                createdAt: Date()
            ),
            terms: terms,
            actor: "test"
        )
    }

    package struct FixtureFailure: Error, CustomStringConvertible {
        package var sql: String
        package var reason: String
        package var description: String { "\(sql): \(reason)" }
    }

    package struct StoreKindMismatch: Error {}
}

/// The suite's PostgreSQL cluster: one per suite run, each test in a database of its own.
package enum SharedCluster {
    @TaskLocal package static var current: PostgresCluster?
}

/// Starts a throwaway cluster around a suite and stops it afterwards.
package struct PostgresClusterTrait: SuiteTrait, TestScoping {
    package var isRecursive: Bool { false }

    package func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let cluster = try PostgresCluster()
        try await SharedCluster.$current.withValue(cluster) { try await function() }
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A PostgreSQL cluster of the suite's own, for `StoreUnderTest.with(.postgres)`.
    package static var postgresCluster: Self { Self() }
}
