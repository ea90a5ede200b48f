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
    /// `KUVERT_HEADER_TIMEOUT`: a connection's first request head must arrive
    /// whole within this long of connecting.
    public var headerTimeout: TimeInterval
    /// `KUVERT_MAX_CONNECTIONS`: open client connections in all; past it the
    /// server accepts no more until one closes. Nil: the descriptor limit less
    /// 512 (worked out at start).
    public var maxConnections: Int?
    /// `KUVERT_MAX_CONNECTIONS_PER_CLIENT`: open connections from one client
    /// (an IPv6 client by its prefix); more are closed at once. A trusted proxy
    /// is not one client.
    public var maxConnectionsPerClient: Int
    /// `KUVERT_METRICS_LISTEN`: a listener of its own for `/metrics`; nil for none
    /// (then `kuvert serve` answers `/metrics` to loopback clients only).
    public var metricsListen: (host: String, port: Int)?

    public init() {
        listenHost = "127.0.0.1"
        listenPort = 8080
        maxBodyBytes = 16 * 1024
        idleTimeout = 30
        headerTimeout = 10
        maxConnections = nil
        maxConnectionsPerClient = 64
        metricsListen = nil
    }

    public init(_ source: SettingSource) throws {
        self.init()
        if let (host, port) = try source.listen("KUVERT_LISTEN") { (listenHost, listenPort) = (host, port) }
        maxBodyBytes = try source.count("KUVERT_MAX_BODY", default: maxBodyBytes, range: 256...(16 * 1024 * 1024))
        idleTimeout = try source.duration("KUVERT_IDLE_TIMEOUT", default: idleTimeout)
        headerTimeout = try source.duration("KUVERT_HEADER_TIMEOUT", default: headerTimeout)
        if source.string("KUVERT_MAX_CONNECTIONS") != nil {
            maxConnections = try source.count("KUVERT_MAX_CONNECTIONS", default: 0, range: 1...1_000_000)
        }
        maxConnectionsPerClient = try source.count(
            "KUVERT_MAX_CONNECTIONS_PER_CLIENT",
            default: maxConnectionsPerClient,
            range: 1...100_000
        )
        metricsListen = try source.listen("KUVERT_METRICS_LISTEN")
    }
}
