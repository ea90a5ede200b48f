import Foundation

/// A throwaway PostgreSQL server of the tests' own (`Tests/Support/postgres_cluster.sh`):
/// a Unix socket in a temporary directory, no TCP port, stopped and removed on deinit.
public final class PostgresCluster: Sendable {
    public let directory: String
    /// `KUVERT_DATABASE` for its database `kuvert`.
    public let url: String

    public init() throws {
        directory = "/tmp/kuvert-pg-" + UUID().uuidString.prefix(8).lowercased()
        url = try Self.script(["start", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { _ = try? Self.script(["stop", directory]) }

    /// Kills the postmaster with SIGKILL, as a crash of the server would.
    public func crash() throws { _ = try Self.script(["crash", directory]) }

    /// Starts the server again after `crash` (PostgreSQL recovers from its WAL).
    public func restart() throws { _ = try Self.script(["restart", directory]) }

    /// Runs SQL through psql as the cluster's user in `database`; its output,
    /// unaligned, one row a line, columns apart by `|`.
    /// NULL prints as `null` (empty unless given).
    public func psql(_ sql: String, database: String = "kuvert", null: String = "") throws -> (status: Int32, output: String) {
        let result = try TestProcess.run([
            "/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-P", "null=\(null)", "-h", directory + "/sock",
            "-U", "kuvert", "-d", database, "-c", sql,
        ])
        return (result.status, result.stdout + result.stderr)
    }

    /// Creates an empty database `name` and returns its `KUVERT_DATABASE` URL.
    public func createDatabase(_ name: String) throws -> String {
        let result = try psql("CREATE DATABASE \(name)")
        guard result.status == 0 else { throw ClusterFailure(message: result.output) }
        return url.replacingOccurrences(of: "/kuvert?", with: "/\(name)?")
    }

    private static func script(_ arguments: [String]) throws -> String {
        let result = try TestProcess.run([TestPaths.root.appendingPathComponent("Tests/Support/postgres_cluster.sh").path] + arguments)
        guard result.status == 0 else { throw ClusterFailure(message: result.stdout + result.stderr) }
        return result.stdout
    }

    public struct ClusterFailure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "postgres_cluster.sh failed: \(message)" }
    }
}
