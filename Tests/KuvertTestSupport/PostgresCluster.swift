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

    /// Runs SQL through psql as the cluster's user; its output, unaligned, one row a line.
    public func psql(_ sql: String) throws -> (status: Int32, output: String) {
        let result = try TestProcess.run([
            "/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory + "/sock", "-U", "kuvert",
            "-d", "kuvert", "-c", sql,
        ])
        return (result.status, result.stdout + result.stderr)
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
