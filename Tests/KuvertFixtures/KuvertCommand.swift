import Foundation
import KuvertCore
import KuvertSQLite
import KuvertTestSupport
import Testing

/// Runs the built `kuvert` executable as a person would, in a temporary data directory.
package struct KuvertCommand {
    package struct Result {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    package static let executable: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [beside, beside.deletingLastPathComponent()].map { $0.appendingPathComponent("kuvert") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    package let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-cli-\(UUID().uuidString)").path

    /// A data directory of the test's own; with `migrate`, its store created
    /// with `kuvert migrate` as an operator would before the first command.
    package init(migrate: Bool = true) async {
        if migrate {
            let result = try? await run("migrate")
            precondition(result?.status == 0, "kuvert migrate failed: \(result?.stderr ?? "did not run")")
        }
    }

    /// `kuvert` with these arguments, in this test's data directory, not started.
    private func process(_ arguments: [String], environment: [String: String]) -> Process {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = [
            "KUVERT_DATA_DIR": dataDirectory, "KUVERT_TEMPLATES": TestApp.templatesDirectory, "PATH": "/usr/bin:/bin",
        ].merging(environment) { $1 }
        return process
    }

    /// Runs a command to its end and collects its output.
    package func run(_ arguments: String..., environment: [String: String] = [:]) async throws -> Result {
        try await run(arguments, environment: environment)
    }

    /// Runs a command to its end and collects its output, waiting on a thread of
    /// its own: the tests' cooperative pool has two threads here, and a command
    /// blocking one of them for a second starves the servers other tests run.
    /// `input`, when given, is the command's standard input.
    package func run(_ arguments: [String], environment: [String: String] = [:], input: [UInt8]? = nil) async throws -> Result {
        try await onThread { try runBlocking(arguments, environment: environment, input: input) }
    }

    private func runBlocking(_ arguments: [String], environment: [String: String], input: [UInt8]?) throws -> Result {
        let process = process(arguments, environment: environment)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            // Written on a thread of its own: the command may stop reading early
            // (then the write fails with EPIPE rather than ending the tests).
            signal(SIGPIPE, SIG_IGN)
            Thread {
                try? stdin.fileHandleForWriting.write(contentsOf: input)
                try? stdin.fileHandleForWriting.close()
            }.start()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    /// Starts a long-running command, such as `worker`, with its output
    /// discarded or, given `log`, written to that file.
    package func start(_ arguments: String..., environment: [String: String] = [:], log: String? = nil) throws -> Process {
        try start(arguments, environment: environment, log: log)
    }

    package func start(_ arguments: [String], environment: [String: String] = [:], log: String? = nil) throws -> Process {
        let process = process(arguments, environment: environment)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
        }
        try process.run()
        return process
    }

    /// Given a list `news` made with `kuvert lists add`, the store in this data directory.
    package func newsList() async throws -> SQLiteStore {
        let terms = try writeTerms("Terms")
        #expect(try await run("lists", "add", "news", "--name", "News", "--terms", terms).status == 0)
        return try SQLiteStore.open(path: dataDirectory + "/kuvert.sqlite")
    }

    package func writeTerms(_ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = dataDirectory + "/terms-\(UUID().uuidString).md"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
