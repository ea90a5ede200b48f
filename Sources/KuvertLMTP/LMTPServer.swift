import Foundation
import KuvertCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// `KUVERT_LMTP_LISTEN`: takes the bounce domain's mail over LMTP (RFC 2033)
/// and hands each message to `BounceIntake`. A recipient is accepted only if
/// it is a valid signed address (else `550 5.1.1` at RCPT), and a message is
/// answered `250` only once it is stored, so an MTA retries what a crash or an
/// unreachable store interrupted (`451`).
public struct LMTPServer: Service {
    let host: String
    let port: Int
    let intake: BounceIntake
    let logger: Logger
    let idleTimeout: TimeAmount
    let limits: LMTPSession.Limits
    let maximumConnections: Int
    let onListening: (@Sendable (Int) -> Void)?
    private let sessions = Sessions()

    /// - Parameters:
    ///   - port: 0 for any free port, which `onListening` is told.
    ///   - idleTimeout: how long a session may say nothing (RFC 5321 suggests five minutes).
    ///   - onListening: called with the port once the listener is bound.
    public init(
        host: String,
        port: Int,
        intake: BounceIntake,
        logger: Logger,
        idleTimeout: Duration = .seconds(300),
        maximumConnections: Int = 64,
        onListening: (@Sendable (Int) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.intake = intake
        self.logger = logger
        self.idleTimeout = .nanoseconds(
            Int64(idleTimeout.components.seconds) * 1_000_000_000
                + idleTimeout.components.attoseconds / 1_000_000_000
        )
        var limits = LMTPSession.Limits()
        limits.messageSize = BounceIntake.maximumSize
        self.limits = limits
        self.maximumConnections = maximumConnections
        self.onListening = onListening
    }

    public func run() async throws {
        let idle = idleTimeout
        // Data lines may be longer than commands; neither may exceed this.
        let lineLimit = 8192
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LMTPLineDecoder(maximum: lineLimit)))
                    return try NIOAsyncChannel<LMTPLine, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let bound = server.channel.localAddress?.port ?? port
        logger.info("LMTP listening", metadata: ["listen": "\(host):\(bound)", "domain": .string(intake.addresses.domain)])
        onListening?(bound)
        // At shutdown the listener and every open session close (a message
        // not yet answered is the MTA's to send again); then the loop ends
        // with every accepted connection served, as NIO requires.
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let channel = connection.channel
                        guard sessions.open(channel) else {
                            channel.close(promise: nil)
                            try? await connection.executeThenClose { _, _ in }
                            continue
                        }
                        group.addTask {
                            await serve(connection)
                            sessions.ended(channel)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            sessions.closeAll()
        }
    }

    private func serve(_ connection: NIOAsyncChannel<LMTPLine, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                guard sessions.admitted(connection.channel, limit: maximumConnections) else {
                    try await outbound.write(Self.buffer("421 4.3.2 Too many connections; try again later"))
                    return
                }
                var session = LMTPSession(hostname: intake.addresses.domain, limits: limits, recipientId: intake.messageId(recipient:))
                try await outbound.write(Self.buffer(session.greeting))
                for try await line in inbound {
                    switch session.receive(line.bytes, tooLong: line.tooLong) {
                    case nil:
                        continue
                    case .reply(let text):
                        try await outbound.write(Self.buffer(text))
                    case .close(let text):
                        try await outbound.write(Self.buffer(text))
                        return
                    case .deliver(let message, let recipients):
                        let report = BounceReport(message: message)
                        for id in recipients {
                            try await outbound.write(Self.buffer(await deliver(report, to: id)))
                        }
                    }
                }
            }
        } catch {
            logger.debug("LMTP session ended", metadata: ["error": "\(error)"])
        }
    }

    /// The reply for one recipient: `250` once the message is stored for it.
    private func deliver(_ report: BounceReport, to id: Int64) async -> String {
        do {
            let event = try await intake.take(report, messageId: id)
            return "250 2.0.0 Taken: \(event.kind.rawValue), \(event.outcome.rawValue)"
        } catch {
            logger.error("LMTP: could not store a bounce", metadata: ["message": "\(id)", "error": "\(error)"])
            return "451 4.3.0 Could not store the message; try again later"
        }
    }

    private static func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text + "\r\n")
    }
}

/// The open sessions, so that shutdown can close them; also how many there are.
private final class Sessions: Sendable {
    private let state = Mutex<(channels: [ObjectIdentifier: any Channel], closing: Bool)>(([:], false))

    /// Adds a session; false once shutdown began.
    func open(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard !state.closing else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// Whether `channel` is among the first `limit` sessions open now.
    func admitted(_ channel: any Channel, limit: Int) -> Bool {
        state.withLock { $0.channels.count <= limit }
    }

    func ended(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func closeAll() {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}
