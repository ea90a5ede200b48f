import Foundation

/// A website's webhook endpoint (Tests/Support/webhook_receiver.py) on a port
/// chosen now and started later, so a test can have Kuvert send while nobody listens.
public final class WebhookReceiver: @unchecked Sendable {
    // @unchecked: `process` is set by start and read by stop, both called by the one test that owns the receiver.
    public let port: Int
    public let url: String
    private let secret: String
    private let failFirst: Int
    private let output: String
    private var process: Process?

    /// - Parameter failFirst: how many verified requests get `503` before the receiver accepts.
    public init(secret: String, failFirst: Int = 0) throws {
        port = try freeLoopbackPort()
        url = "http://127.0.0.1:\(port)/kuvert-events"
        self.secret = secret
        self.failFirst = failFirst
        output = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-webhooks-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: output, contents: nil)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: output)
    }

    /// Starts listening; returns once it does. Waits on a thread of its own,
    /// not on the tests' cooperative pool.
    public func start() async throws {
        try await onThread { try self.startBlocking() }
    }

    private func startBlocking() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SMTPTestServer.python)
        process.arguments = [
            TestPaths.root.appendingPathComponent("Tests/Support/webhook_receiver.py").path, String(port), secret, output, "--fail-first",
            String(failFirst),
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = pipe.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else { throw ScriptedServerError.didNotStart("webhook receiver") }
        self.process = process
    }

    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// What arrived with a valid signature, one body a line, in order of arrival;
    /// `BAD-SIGNATURE` for each request whose signature did not verify.
    public func received() -> [String] {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
