import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
private let writeToFile = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let writeToFile = Darwin.write
#endif

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `time=… level=info msg="…" key=value`, one line per event (logfmt).
    case text
    /// One JSON object per line, for log shippers.
    case json
}

/// Kuvert's log handler: one line per event on standard error, as text or
/// JSON, with personal data taken out on the way.
///
/// Code never logs an address or a token on purpose; this is the second line of
/// defence: every message and metadata value has addresses replaced by
/// `<address>` and the token of a link path by `{token}`. Hummingbird's request
/// id is written as `request_id`.
public struct KuvertLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: LogFormat
    private let output: LogSink

    public init(label: String, format: LogFormat, level: Logger.Level, output: LogSink = .standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = []
        let all = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            fields.append((Self.keyName(key), Self.redacted("\(value)")))
        }
        output.write(
            Self.line(
                format: format,
                time: Date(),
                level: event.level,
                message: Self.redacted("\(event.message)"),
                fields: fields
            )
        )
    }

    /// The line for one event, without its newline.
    static func line(format: LogFormat, time: Date, level: Logger.Level, message: String, fields: [(String, String)]) -> String {
        let stamp = timestamp(time)
        switch format {
        case .text:
            var line = "time=\(stamp) level=\(level.rawValue) msg=\(logfmtValue(message))"
            for (key, value) in fields { line += " \(key)=\(logfmtValue(value))" }
            return line
        case .json:
            var line = "{\"time\":\(jsonString(stamp)),\"level\":\(jsonString(level.rawValue)),\"msg\":\(jsonString(message))"
            for (key, value) in fields { line += ",\(jsonString(key)):\(jsonString(value))" }
            return line + "}"
        }
    }

    private static func keyName(_ key: String) -> String {
        if key == "hb.request.id" { return "request_id" }
        guard key.utf8.contains(UInt8(ascii: ".")) else { return key }
        return key.replacingOccurrences(of: ".", with: "_")
    }

    /// Addresses and link tokens taken out of a logged text.
    static func redacted(_ text: String) -> String {
        // Most values (ids, slugs, outcomes) hold neither an @ nor a /: nothing to look for.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "/") }) else { return text }
        var text = text
        if text.utf8.contains(UInt8(ascii: "@")) { text = LogRedaction.addresses(in: text) }
        for route in ["/confirm/", "/unsubscribe/", "/privacy/"] where text.contains(route) {
            text = text.replacingOccurrences(
                of: "\(route)[A-Za-z0-9_.-]{16,}",
                with: "\(route){token}",
                options: .regularExpression
            )
        }
        return text
    }

    private static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        return jsonString(value)
    }

    /// A JSON string literal (also a valid quoted logfmt value).
    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `2026-11-22T21:04:57.123Z`.
    static func timestamp(_ date: Date) -> String {
        let text = StoreTime.text(date)  // `2026-11-22 21:04:57.123`
        return String(text.prefix(10)) + "T" + String(text.dropFirst(11)) + "Z"
    }
}

/// Where log lines go: standard error, or a buffer in tests.
public final class LogSink: Sendable {
    private let lines = Mutex<[String]>([])
    private let toStandardError: Bool

    public static let standardError = LogSink(toStandardError: true)

    /// A sink that keeps lines in memory, for tests.
    public static func memory() -> LogSink { LogSink(toStandardError: false) }

    private init(toStandardError: Bool) {
        self.toStandardError = toStandardError
    }

    func write(_ line: String) {
        if toStandardError {
            let bytes = Array((line + "\n").utf8)
            // One write(2) a line, so lines from threads never interleave.
            lines.withLock { _ in _ = bytes.withUnsafeBytes { writeToFile(2, $0.baseAddress, $0.count) } }
        } else {
            lines.withLock { $0.append(line) }
        }
    }

    /// The lines kept by a memory sink.
    public var written: [String] { lines.withLock { $0 } }
}
