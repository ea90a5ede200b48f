import Foundation

// What the servers the tests start from Tests/Support scripts (Postfix,
// Dovecot) share: starting on a free port, with retries, and running the script.

public enum ScriptedServerError: Error { case didNotStart(String) }

/// A loopback port nobody listens on now (bound, read and closed again).
public func freeLoopbackPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Starts a server of the tests' own (Postfix, Dovecot) with `script start DIR PORT
/// arguments…`, on a thread of its own (the tests' two-thread cooperative pool
/// is not blocked meanwhile). The port is free when picked, but another test may
/// bind it before Postfix does: a start that fails is tried again on a new
/// port, twice.
func startScriptedServer<Instance>(
    script: String,
    name: String,
    make: (String, Int) -> Instance,
    arguments: (Instance) -> [String]
) async throws -> Instance {
    var failures: [String] = []
    for _ in 0..<3 {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let instance = make(directory, port)
        let command = ["start", directory, String(port)] + arguments(instance)
        do {
            try await onThread { try runServerScript(script, command) }
            return instance
        } catch ScriptedServerError.didNotStart(let reason) {
            failures.append(reason)
        }
    }
    throw ScriptedServerError.didNotStart(failures.joined(separator: "\n"))
}

/// Runs one of the server scripts (Tests/Support); throws with its standard
/// error when it fails. Through `TestProcess` (posix_spawn and waitpid):
/// Foundation's `Process` never saw a script end once it had started a daemon
/// (Dovecot, PostgreSQL).
func runServerScript(_ script: String, _ arguments: [String]) throws {
    let result = try TestProcess.run(["/bin/bash", script] + arguments)
    guard result.status == 0 else { throw ScriptedServerError.didNotStart(result.stderr) }
}
