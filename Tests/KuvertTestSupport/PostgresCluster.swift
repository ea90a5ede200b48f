import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        try Self.spawn([
            "/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", directory + "/sock", "-U", "kuvert",
            "-d", "kuvert", "-c", sql,
        ])
    }

    private static func script(_ arguments: [String]) throws -> String {
        let result = try spawn([TestPaths.root.appendingPathComponent("Tests/Support/postgres_cluster.sh").path] + arguments)
        guard result.status == 0 else { throw ClusterFailure(message: result.output) }
        return result.output
    }

    /// Runs a program to its end with posix_spawn and waitpid; its status and
    /// output (both streams, through a file). Foundation's `Process` never saw
    /// the cluster script end here (`waitUntilExit` hung with the script a zombie
    /// once `pg_ctl` had started the server), so this does not use it.
    static func spawn(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-spawn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw ClusterFailure(message: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally: the exit code; otherwise 128 and the signal, as a shell says.
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, output)
    }

    public struct ClusterFailure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "postgres_cluster.sh failed: \(message)" }
    }
}
