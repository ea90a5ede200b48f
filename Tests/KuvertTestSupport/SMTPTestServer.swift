import Foundation

/// A real SMTP server (aiosmtpd, `Tests/Support/smtp_test_server.py`) on a free
/// loopback port, stopped when the value is freed.
public final class SMTPTestServer: @unchecked Sendable {
    // @unchecked: `process` and `input` change only in `start` and `stop`, which
    // tests call from one task at a time; everything else is immutable.
    public let directory: String
    public private(set) var port: Int = 0
    private var process: Process?
    private var input: Pipe?

    static let supportDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Support").path

    /// Debian's aiosmtpd belongs to Debian's Python, which need not be the first on PATH.
    public static let python: String = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import aiosmtpd"]
            probe.standardError = FileHandle.nullDevice
            if (try? probe.run()) != nil {
                probe.waitUntilExit()
                if probe.terminationStatus == 0 { return candidate }
            }
        }
        return "python3"
    }()

    /// Credentials the server demands (AUTH without TLS, on loopback), if any.
    public let credentials: String?

    public init(credentials: String? = nil) throws {
        self.credentials = credentials
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-smtp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start(port: 0)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The URL for `KUVERT_SMTP_URL`.
    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Starts the server, on `port` or (0) a free one.
    public func start(port requested: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments =
            [Self.supportDirectory + "/smtp_test_server.py", directory, String(requested)]
            + (credentials.map { [$0] } ?? [])
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw SMTPTestServerError.didNotStart }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SMTPTestServerError.didNotStart
        }
        self.port = port
        self.process = process
        self.input = input
    }

    /// Stops the server at once, as a crash would; messages it received stay readable.
    public func stop() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input?.fileHandleForWriting.close()
        self.process = nil
    }

    /// The messages received so far, oldest first.
    public func messages() -> [ReceivedMail] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".eml") }.sorted().compactMap { name in
            let base = directory + "/" + name.dropLast(4)
            guard let raw = FileManager.default.contents(atPath: base + ".eml"),
                let envelope = FileManager.default.contents(atPath: base + ".json"),
                let json = try? JSONSerialization.jsonObject(with: envelope) as? [String: Any]
            else { return nil }
            return ReceivedMail(
                path: base + ".eml",
                raw: raw,
                from: json["from"] as? String ?? "",
                to: json["to"] as? [String] ?? []
            )
        }
    }

    /// Lines of the event log: `ehlo`, `rcpt <code> <address>`, `data <n>`.
    public func events() -> [String] {
        let text = (try? String(contentsOfFile: directory + "/events.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// How many SMTP sessions clients opened (each greets with EHLO once; the
    /// server's own start-up probe does not).
    public var connectionCount: Int { events().filter { $0 == "ehlo" }.count }

    /// Waits until `condition` holds, polling, or fails after `timeout`.
    public func waitFor(timeout: TimeInterval = 20, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw SMTPTestServerError.timedOut }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

public enum SMTPTestServerError: Error {
    case didNotStart, timedOut
    case parseFailed(String)
}

/// A message as the SMTP server received it.
public struct ReceivedMail: Sendable {
    public var path: String
    public var raw: Data
    public var from: String
    public var to: [String]

    /// The header fields, by lower-case name (folded lines unfolded; a repeated field keeps its last value).
    public var headerFields: [String: String] {
        let text = String(decoding: raw, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n ", with: " ")
        var fields: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The message as Python's `email` package reads it.
    public func parsed() throws -> ParsedMail {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SMTPTestServer.python)
        process.arguments = [SMTPTestServer.supportDirectory + "/parse_mail.py", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SMTPTestServerError.parseFailed(path) }
        return try JSONDecoder().decode(ParsedMail.self, from: data)
    }
}

/// What an independent parser (Python's `email`) makes of a message.
public struct ParsedMail: Decodable, Sendable {
    public struct Part: Decodable, Sendable {
        public var content_type: String
        public var charset: String?
        public var transfer_encoding: String?
        public var content: String
        public var defects: [String]
    }

    public var headers: [String: String]
    public var defects: [String]
    public var content_type: String
    public var parts: [Part]
    public var max_line_length: Int
    public var bare_lf: Bool

    public func part(_ type: String) -> Part? { parts.first { $0.content_type == type } }
}
