import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program of the tests (a script, a verifier, psql) to its end.
public enum TestProcess {
    /// Runs `arguments[0]` with the rest as its arguments, standard input empty;
    /// its exit status and what it wrote to each stream.
    ///
    /// posix_spawn and waitpid, through files: Foundation's `Process` never saw
    /// the PostgreSQL cluster script end here (`waitUntilExit` hung with the
    /// script a zombie once `pg_ctl` had started the server, which had
    /// inherited the socket by which Foundation watches its child).
    public static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-process-\(UUID().uuidString)").path
        let (outPath, errPath) = (base + ".out", base + ".err")
        defer { for path in [outPath, errPath] { try? FileManager.default.removeItem(atPath: path) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else of this process's: a daemon the program starts would keep
        // any descriptor it got for its whole life. Foundation's `Process`
        // learns that its child ended when the last holder of one end of a
        // socket pair closes it, and that end is open here while another
        // test starts its process; a PostgreSQL server that inherited it kept
        // that test's `waitUntilExit` waiting until the server stopped.
        guard closeFrom(&actions, 3) == 0 else { throw Failure(message: "posix_spawn_file_actions_addclosefrom_np failed") }
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw Failure(message: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        // Exited normally: the exit code; otherwise 128 and the signal, as a shell says.
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, read(outPath), read(errPath))
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later),
    /// which its headers declare for GNU sources only.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: AddCloseFrom = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed: posix_spawn_file_actions_addclosefrom_np is missing")
        }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

/// `work` on a thread of its own, awaited: blocking work (a process to its end,
/// a socket read, a server script) must not hold one of the tests' cooperative
/// pool's two threads, or the live servers other tests run starve.
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { done in
        Thread { done.resume(with: Result { try work() }) }.start()
    }
}
