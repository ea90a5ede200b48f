import Logging

/// How Kuvert logs.
public struct LogSettings: Sendable {
    /// `KUVERT_LOG_FORMAT`: `text` (one `key=value` line per event) or `json` (one object per line).
    public var format: LogFormat
    /// `KUVERT_LOG_LEVEL`: the least severe level logged.
    public var level: Logger.Level

    public init() {
        format = .text
        level = .info
    }

    public init(_ source: SettingSource) throws {
        format = try source.choice("KUVERT_LOG_FORMAT", default: .text, LogFormat.allCases.map { ($0.rawValue, $0) })
        level = try source.choice("KUVERT_LOG_LEVEL", default: .info, Logger.Level.allCases.map { ($0.rawValue, $0) })
    }
}
