import Foundation
import HummingbirdCore
import KuvertCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Open connections per client, so that one client (a slowloris, a slow
/// reader) cannot hold every descriptor the server has.
///
/// A client is keyed as the rate limits key it (an IPv6 client by its /64);
/// a trusted proxy is many clients, and only the total cap applies to it
/// (`KUVERT_MAX_CONNECTIONS`, enforced by not accepting past it).
final class ConnectionGate: Sendable {
    let perClient: Int
    private let ipv6PrefixLength: Int
    private let proxies: TrustedProxies
    private let logger: Logger
    private let state = Mutex<(open: [String: Int], lastRefusalLogged: ContinuousClock.Instant?, refusedSinceLog: Int)>(
        ([:], nil, 0)
    )

    init(perClient: Int, ipv6PrefixLength: Int, proxies: TrustedProxies, logger: Logger) {
        self.perClient = perClient
        self.ipv6PrefixLength = ipv6PrefixLength
        self.proxies = proxies
        self.logger = logger
    }

    /// Admits a connection from `peer`: the key to release when it closes
    /// (nil for a proxy or a peer without an address), or `.refused`.
    func admit(peer: String?) -> Admission {
        guard let peer, !proxies.contains(peer) else { return .admitted(key: nil) }
        let key = ClientKey.key(for: peer, ipv6PrefixLength: ipv6PrefixLength)
        let (admitted, logNow) = state.withLock { state -> (Bool, Int?) in
            let open = state.open[key, default: 0]
            if open < perClient {
                state.open[key] = open + 1
                return (true, nil)
            }
            // One line a minute at most, with the count since the last: the
            // address is personal data and stays out of the log.
            state.refusedSinceLog += 1
            let now = ContinuousClock.now
            if let last = state.lastRefusalLogged, now - last < .seconds(60) { return (false, nil) }
            state.lastRefusalLogged = now
            defer { state.refusedSinceLog = 0 }
            return (false, state.refusedSinceLog)
        }
        if let refused = logNow {
            logger.warning(
                "a client holds \(perClient) connections (KUVERT_MAX_CONNECTIONS_PER_CLIENT); refusing more from it",
                metadata: ["refused": "\(refused)"]
            )
        }
        return admitted ? .admitted(key: key) : .refused
    }

    func release(_ key: String) {
        state.withLock { state in
            let open = state.open[key, default: 1] - 1
            state.open[key] = open > 0 ? open : nil
        }
    }

    /// How many clients hold a connection now (for tests).
    var clients: Int { state.withLock { $0.open.count } }

    enum Admission: Equatable {
        case admitted(key: String?)
        case refused
    }
}

/// One connection's watch, shared by its two handlers on its event loop: is a
/// request head awaited, and the deadline for the one under way.
final class ConnectionWatch: @unchecked Sendable {
    // Touched on the channel's event loop only (both handlers run there).
    fileprivate var key: String?
    fileprivate var deadline: Scheduled<Void>?
    fileprivate var awaitingHead = true
    fileprivate var requestsOpen = 0
    fileprivate let gate: ConnectionGate
    fileprivate let headerTimeout: TimeAmount

    init(gate: ConnectionGate, headerTimeout: TimeAmount) {
        self.gate = gate
        self.headerTimeout = headerTimeout
    }

    fileprivate func finish() {
        deadline?.cancel()
        deadline = nil
        if let key {
            gate.release(key)
            self.key = nil
        }
    }
}

/// First in a connection's pipeline, on its bytes: closes a connection whose
/// client is over its cap at once, and gives a request head
/// `KUVERT_HEADER_TIMEOUT` from its first byte to arrive whole. The idle
/// timeout alone does not do it: a client sending one header byte every few
/// seconds never idles. A connection that sends nothing is the idle timeout's;
/// a body has its own deadline where it is read (`FormFields.bodyDeadline`, 408).
final class ConnectionBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let watch: ConnectionWatch
    private var started = false

    init(watch: ConnectionWatch) { self.watch = watch }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { watch.finish() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if watch.awaitingHead, watch.deadline == nil {
            let channel = context.channel
            watch.deadline = context.eventLoop.scheduleTask(in: watch.headerTimeout) { channel.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch watch.gate.admit(peer: context.channel.remoteAddress?.ipAddress) {
        case .refused: context.close(promise: nil)
        case .admitted(let key): watch.key = key
        }
    }
}

/// After the HTTP decoder: a whole head ends the header deadline; the end of
/// the last answer awaits the next head.
final class ConnectionPartsHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let watch: ConnectionWatch

    init(watch: ConnectionWatch) { self.watch = watch }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            watch.requestsOpen += 1
            watch.awaitingHead = false
            watch.deadline?.cancel()
            watch.deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            watch.requestsOpen -= 1
            // Pipelined requests already read keep the connection busy.
            if watch.requestsOpen == 0 { watch.awaitingHead = true }
        }
        context.write(data, promise: promise)
    }
}

/// Hummingbird's HTTP/1 channel with the connection guard around it: the bytes
/// handler first in the pipeline, the parts handler after the decoder.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let gate: ConnectionGate
    let headerTimeout: TimeAmount
    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let watch = ConnectionWatch(gate: gate, headerTimeout: headerTimeout)
        var configuration = configuration
        configuration.additionalChannelHandlers = { [ConnectionPartsHandler(watch: watch)] }
        let inner = HTTP1Channel(responder: responder, configuration: configuration)
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionBytesHandler(watch: watch), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder, configuration: configuration).handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with Kuvert's connection guard.
    static func guardedHTTP1(
        gate: ConnectionGate,
        headerTimeout: TimeAmount,
        configuration: HTTP1Channel.Configuration
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(gate: gate, headerTimeout: headerTimeout, responder: responder, configuration: configuration)
        }
    }
}

/// The process's descriptor limit, and the connections it leaves room for.
public enum DescriptorLimit {
    /// Descriptors kept for everything that is not a client: the store, the
    /// relay's connections, templates, logs.
    public static let reserved = 512

    /// Raises the soft limit on open descriptors to the hard limit (as Go and
    /// nginx do): systemd's default soft limit of 1,024 is what slow clients
    /// filled. Returns the limit now in force.
    @discardableResult
    public static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// The default `KUVERT_MAX_CONNECTIONS`: the descriptor limit less what is
    /// kept for the rest, at least 64.
    public static func defaultConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 512 }
        return max(64, Int(clamping: limit.rlim_cur) - reserved)
    }
}
