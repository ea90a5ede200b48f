import Foundation

/// The HTTP listeners and what they accept.
public struct HTTPSettings: Sendable {
    /// `KUVERT_LISTEN`.
    public var listenHost: String
    public var listenPort: Int
    /// `KUVERT_MAX_BODY`: the largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// `KUVERT_IDLE_TIMEOUT`: a connection that sends and receives nothing this long is closed.
    public var idleTimeout: TimeInterval
    /// `KUVERT_METRICS_LISTEN`: a listener of its own for `/metrics`; nil for none
    /// (then `kuvert serve` answers `/metrics` to loopback clients only).
    public var metricsListen: (host: String, port: Int)?

    public init() {
        listenHost = "127.0.0.1"
        listenPort = 8080
        maxBodyBytes = 16 * 1024
        idleTimeout = 30
        metricsListen = nil
    }

    public init(_ source: SettingSource) throws {
        self.init()
        if let (host, port) = try source.listen("KUVERT_LISTEN") { (listenHost, listenPort) = (host, port) }
        maxBodyBytes = try source.count("KUVERT_MAX_BODY", default: maxBodyBytes, range: 256...(16 * 1024 * 1024))
        idleTimeout = try source.duration("KUVERT_IDLE_TIMEOUT", default: idleTimeout)
        metricsListen = try source.listen("KUVERT_METRICS_LISTEN")
    }
}
