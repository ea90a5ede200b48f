import Foundation
import KuvertCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// The store on a PostgreSQL server, shared by every node that names it
/// (`KUVERT_DATABASE=postgres://…`), through postgres-nio's `PostgresClient`.
///
/// For a command, the client runs in a task of the store's own from `open`
/// until `close`; for `serve` and `worker` it runs as a service of the
/// process's `ServiceGroup` (`service(_:logger:)`), stopped after the others.
public final class PostgresStore: Sendable, Service {
    public let location: PostgresLocation
    let client: PostgresClient
    /// The client with a bound on the wait for a connection (`patience`).
    let pool: BoundedPool
    let logger: Logger
    /// How long a call waits for the server before it says it cannot be reached.
    let patience: Duration
    /// Subscription requests and rate-limit counts that arrive together go to
    /// the server as one call each (`Coalescer`).
    let intake: Coalescer<SubscribeCall, Result<(String, Int64?), any Error>>
    let counts: Coalescer<RequestCount, (Date, Int)>
    /// The mailer's delivery records, likewise.
    let records: Coalescer<RecordCall, Result<Void, any Error>>
    private let running: Task<Void, Never>?

    private init(_ location: PostgresLocation, logger: Logger, runsItself: Bool, patience: Duration) {
        self.location = location
        self.logger = logger
        self.patience = patience
        let configuration: PostgresClient.Configuration
        if let socket = location.socketPath {
            configuration = .init(
                unixSocketPath: socket,
                username: location.user,
                password: location.password,
                database: location.database
            )
        } else {
            let tls: PostgresClient.Configuration.TLS =
                switch location.sslMode {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            configuration = .init(
                host: location.host ?? "localhost",
                port: location.port,
                username: location.user,
                password: location.password,
                database: location.database,
                tls: tls
            )
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        // A call's statements get three times the patience: seconds for what a
        // request asks, and a bound for a statement the server never answers.
        let pool = BoundedPool(client: client, patience: patience, deadline: patience * 3, location: location)
        self.pool = pool
        intake = Coalescer(flights: Self.flights, maximumBatch: 64) { calls in await Self.subscribe(calls, on: pool) }
        counts = Coalescer(flights: Self.flights, maximumBatch: 256) { requests in try await Self.count(requests, on: pool) }
        records = Coalescer(flights: Self.flights, maximumBatch: 64) { calls in await Self.record(calls, on: pool) }
        running = runsItself ? Task { await client.run() } : nil
    }

    /// Connects and migrates the schema, or checks that it is current.
    /// - Throws: `KuvertError.configuration` with one line: the server cannot be
    ///   reached, its schema is newer than this binary, or older than it (run `kuvert migrate`).
    /// - Parameter patience: how long any call waits for the server before it
    ///   gives up with "no answer" (postgres-nio's pool would go on trying).
    public static func open(
        _ location: PostgresLocation,
        schema: SchemaPolicy,
        logger: Logger,
        patience: Duration = .seconds(10)
    ) async throws -> PostgresStore {
        // One connection of its own first: a server that refuses or rejects the
        // login is said at once, with its cause, not after the pool's patience.
        do {
            try await probe(location, logger: logger)
        } catch {
            throw oneLine(error, location: location)
        }
        let store = PostgresStore(location, logger: logger, runsItself: true, patience: patience)
        do {
            try await store.prepare(schema)
            return store
        } catch {
            await store.close()
            throw error
        }
    }

    /// Opens one connection to `location` and closes it.
    static func probe(_ location: PostgresLocation, logger: Logger) async throws {
        var configuration: PostgresConnection.Configuration
        if let socket = location.socketPath {
            configuration = .init(unixSocketPath: socket, username: location.user, password: location.password, database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS =
                switch location.sslMode {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
                case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
                }
            configuration = .init(
                host: location.host ?? "localhost",
                port: location.port,
                username: location.user,
                password: location.password,
                database: location.database,
                tls: tls
            )
        }
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: configuration,
            id: 0,
            logger: logger
        )
        try? await connection.close()
    }

    /// A store whose client runs when the process's `ServiceGroup` runs it
    /// (`run()`); its schema must have been migrated or checked with `open` first.
    public static func service(_ location: PostgresLocation, logger: Logger, patience: Duration = .seconds(10)) -> PostgresStore {
        PostgresStore(location, logger: logger, runsItself: false, patience: patience)
    }

    /// Runs the client of a `service` store until the group shuts down.
    public func run() async throws {
        await client.run()
    }

    /// Stops the client of an `open` store; the store cannot be used afterwards.
    public func close() async {
        running?.cancel()
        await running?.value
    }

    /// Batches of one kind on their way at once: one per core of a small
    /// server keeps it busy while the other batch's commit waits for the disk.
    static let flights = 2

    /// The logger of statements: postgres-nio logs at debug level and below only.
    static let quiet: Logger = {
        var logger = Logger(label: "kuvert.postgres")
        logger.logLevel = .error
        return logger
    }()

    /// The advisory lock every migrator takes: several nodes starting at once
    /// migrate one after the other, and the later ones find nothing to do.
    static let migrationLock: Int64 = 0x6B75_7665_7274  // "kuvert"

    private func prepare(_ schema: SchemaPolicy) async throws {
        if let socket = location.socketPath, !FileManager.default.fileExists(atPath: socket) {
            throw KuvertError.configuration("The PostgreSQL store \(location) cannot be used: no server listens at \(socket).")
        }
        let known = PostgresSchema.migrations.map(\.identifier)
        try await reachable { [self] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS kuvertMigration (identifier TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL DEFAULT now())",
                    logger: logger
                )
                var applied: [String] = []
                for try await identifier in try await connection.query(
                    "SELECT identifier FROM kuvertMigration ORDER BY appliedAt, identifier",
                    logger: logger
                ).decode(String.self) {
                    applied.append(identifier)
                }
                if let unknown = applied.first(where: { !known.contains($0) }) {
                    throw KuvertError.configuration(
                        "The store \(location) has a schema newer than this kuvert (migration \(unknown)): run the newer kuvert."
                    )
                }
                let missing = PostgresSchema.migrations.filter { !applied.contains($0.identifier) }
                guard !missing.isEmpty else { return }
                guard schema == .migrate else {
                    throw KuvertError.configuration(
                        "The store \(location) lacks migration \(missing[0].identifier): run kuvert migrate first."
                    )
                }
                for migration in missing {
                    for statement in PostgresSchema.statements(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO kuvertMigration (identifier) VALUES (\(migration.identifier))",
                        logger: logger
                    )
                }
            }
        }
    }

    /// `body`, within `patience`, with a server that cannot be reached, refuses
    /// the login or refuses a statement said in one line.
    func reachable<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let patience = patience
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: patience)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw StoreUnavailable(
                        .noAnswer,
                        detail: "The PostgreSQL store \(location) cannot be used: no answer within \(patience)."
                    )
                }
                return value
            }
        } catch {
            throw Self.oneLine(error, location: location)
        }
    }

    /// The schema, the server's version, and the connections it has and allows.
    public func diagnosis() async throws -> StoreDiagnosis {
        try await reachable { [self] in
            let rows = try await client.query(
                """
                -- The newest by number: migrations applied together share their time, and pg9 sorts after pg10 as text.
                SELECT (SELECT identifier FROM kuvertMigration
                        ORDER BY substring(identifier FROM '^pg([0-9]+)-')::int DESC NULLS LAST, appliedAt DESC LIMIT 1),
                       current_setting('server_version'),
                       (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()),
                       current_setting('max_connections')::int,
                       (SELECT count(*) FROM mailingList)
                """,
                logger: logger
            )
            for try await (schema, version, connections, maximum, lists) in rows.decode((String?, String, Int, Int, Int).self) {
                return StoreDiagnosis(
                    schema: schema ?? "none",
                    lists: lists,
                    facts: ["PostgreSQL \(version)", "\(connections) of \(maximum) connections in use"],
                    sound: true
                )
            }
            throw KuvertError.configuration("The PostgreSQL store \(location) gave no answer.")
        }
    }
}

extension PostgresStore {
    /// `body` in one transaction; a PostgreSQL error said in one line. The
    /// wait for a connection is bounded by `patience` (`BoundedPool`): with the
    /// server gone, a request is answered within it, not when postgres-nio's
    /// pool gives up (69 s, or never for calls retried one after the other);
    /// the whole call by the pool's deadline, unless `unbounded` (maintenance).
    func transaction<T: Sendable>(
        unbounded: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await pool.withTransaction(logger: logger, unbounded: unbounded) { connection in try await body(connection) }
        } catch {
            throw Self.oneLine(error, location: location)
        }
    }

    /// `body` on a connection of the pool, outside a transaction (reads, and
    /// writes of one statement), as `transaction` does.
    func connection<T: Sendable>(
        unbounded: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await pool.withConnection(unbounded: unbounded) { connection in try await body(connection) }
        } catch {
            throw Self.oneLine(error, location: location)
        }
    }
}

extension PostgresStore {
    /// A coalesced batch's answers, in order, from `run` (one call for all of
    /// them). Should the batch fail, each call goes again alone, so that one
    /// call's fault (a request the schema refuses) stays its own; but when the
    /// server is the fault (gone, no connection within the patience), every
    /// call gets that at once: tried one after the other, each would wait out
    /// the patience again.
    static func answer<Call: Sendable, Answer: Sendable>(
        _ calls: [Call],
        on pool: BoundedPool,
        run: @escaping @Sendable ([Call], PostgresConnection) async throws -> [Answer]
    ) async -> [Result<Answer, any Error>] {
        @Sendable func attempt(_ calls: [Call]) async throws -> [Answer] {
            let answers = try await pool.withConnection { c in try await run(calls, c) }
            guard answers.count == calls.count else { throw CoalescerError(items: calls.count, answers: answers.count) }
            return answers
        }
        if calls.count > 1 {
            do {
                return try await attempt(calls).map { .success($0) }
            } catch {
                let failure = oneLine(error, location: pool.location)
                if failure is StoreUnavailable { return calls.map { _ in .failure(failure) } }
            }
        }
        var answers: [Result<Answer, any Error>] = []
        for call in calls {
            do {
                answers.append(.success(try await attempt([call])[0]))
            } catch {
                answers.append(.failure(error))
                let failure = oneLine(error, location: pool.location)
                if failure is StoreUnavailable {
                    answers += Array(repeating: .failure(failure), count: calls.count - answers.count)
                    break
                }
            }
        }
        return answers
    }
}

extension PostgresConnection {
    /// Runs `query` and returns its rows, each with random access by column name.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: PostgresStore.quiet).rows()
    }

    /// Runs `query` and returns the first column of each row.
    func column<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        try await self.query(query, logger: PostgresStore.quiet).column(T.self)
    }

    /// Runs `query` and returns the first column of its first row, if any.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) async throws -> T? {
        try await self.query(query, logger: PostgresStore.quiet).first(T.self)
    }

    /// Runs a statement whose rows, if any, do not matter.
    func run(_ query: PostgresQuery) async throws {
        let rows = try await self.query(query, logger: PostgresStore.quiet)
        for try await _ in rows {}
    }
}
