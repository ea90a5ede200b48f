import Foundation
import KuvertFixtures
import KuvertTestSupport
import Logging
import PostgresNIO
import Testing

@testable import KuvertCore
@testable import KuvertPostgres
@testable import KuvertSQLite

@Suite("PostgreSQL calls are bounded: the lease by the patience, the statements by the deadline", .postgresCluster)
struct BoundedPoolTests {
    @Test("a statement the server does not answer in time fails with StoreUnavailable, its connection is closed, the next call works")
    func statementDeadline() async throws {
        let cluster = try #require(SharedCluster.current)
        let url = try cluster.createDatabase("bounded_" + UUID().uuidString.prefix(8).lowercased())
        guard case .postgres(let location) = try StoreLocation(url) else {
            Issue.record("not PostgreSQL")
            return
        }
        var logger = Logger(label: "kuvert.test.bounded")
        logger.logLevel = .error
        // The store migrates with the patience the other store tests have (the
        // whole suite starts at once on two cores); the pool under test shares
        // its client: a lease may take 20 s, the whole call 20 s, far below the
        // statement's 120 s.
        let store = try await PostgresStore.open(location, schema: .migrate, logger: logger, patience: .seconds(120))
        let pool = BoundedPool(client: store.client, patience: .seconds(20), deadline: .seconds(20), location: location)
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: StoreUnavailable.self) {
            try await pool.withConnection { c in try await c.run("SELECT pg_sleep(120)") }
        }
        let waited = clock.now - started
        // Past the deadline, well before the statement would have ended.
        #expect(waited >= .seconds(20) && waited < .seconds(90), "\(waited)")
        // The connection is closed on Kuvert's side. The server notices when its
        // statement ends (PostgreSQL 14's client_connection_check_interval would
        // notice sooner; Kuvert supports 13), so end it here, as an operator would.
        #expect(
            try cluster.psql(
                "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)'"
            ).output == "1\n"
        )
        // The pool goes on with a new connection.
        #expect(try await pool.withConnection { c in try await c.value("SELECT 41 + 1", as: Int.self) } == 42)
        // Maintenance is not bounded: longer than the deadline, and it finishes.
        #expect(
            try await pool.withConnection(unbounded: true) { c in
                try await c.value("SELECT 7 FROM pg_sleep(21)", as: Int.self)
            } == 7
        )
        await store.close()
    }
}
