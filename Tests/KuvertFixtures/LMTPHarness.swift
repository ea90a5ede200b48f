import Crypto
import Foundation
import GRDB
import KuvertApp
import KuvertSQLite
import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import KuvertCore
@testable import KuvertLMTP

/// An LMTP server over a SQLite store of the test's own, with the list `news`
/// and one pending subscription (and its queued confirmation) per address.
package final class LMTPHarness: Sendable {
    package let app: TestApp
    package let addresses: BounceAddresses
    package let port: Int
    private let group: ServiceGroup

    package init(readers: [String], idleTimeout: Duration = .seconds(30), store: (any BounceStore)? = nil) async throws {
        app = try await TestApp()
        try await app.addList()
        for reader in readers {
            _ = try await app.store.request(reader)
        }
        let keys = KeyRing(keys: [SymmetricKey(size: .bits256)])
        let addresses = keys.bounceAddresses(domain: "bounces.kuvert.test")
        self.addresses = addresses
        var logger = Logger(label: "lmtp-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["LMTP_DEBUG"] != nil ? .trace : .critical
        let app = self.app
        var settings = app.settings
        settings.mail.bounceDomain = "bounces.kuvert.test"
        settings.mailer.bounceLimit = 3
        // Built as `kuvert serve` builds its own, unless the test gives a store that fails.
        let intake =
            try store.map { BounceIntake(addresses: addresses, store: $0, bounceLimit: 3, metrics: .none, logger: logger) }
            ?? #require(Runtime(settings: settings, store: app.store).bounceIntake(keys: keys, logger: logger, metrics: .none))
        // Port 0: the kernel picks a free one as it binds, so no other test can take it meanwhile.
        let listening = AsyncThrowingStream<Int, any Error>.makeStream()
        let server = LMTPServer(
            host: "127.0.0.1",
            port: 0,
            intake: intake,
            logger: logger,
            idleTimeout: idleTimeout,
            onListening: { listening.continuation.yield($0) }
        )
        // As kuvert serve runs it: in a service group, stopped by a graceful shutdown.
        let group = ServiceGroup(services: [server], logger: logger)
        self.group = group
        Task {
            do { try await group.run() } catch { listening.continuation.finish(throwing: error) }
            listening.continuation.finish()
        }
        var ports = listening.stream.makeAsyncIterator()
        guard let port = try await ports.next() else { throw LMTPHarnessError.didNotListen }
        self.port = port
    }

    deinit {
        let group = group
        Task { await group.triggerGracefulShutdown() }
    }

    /// A session past its greeting and LHLO.
    package func session() async throws -> LineClient {
        // A reply bounds only a failing test; under the full suite's load a 4 MiB
        // message can take the server more than the default 10 s.
        let client = try LineClient(port: port, timeout: 30)
        #expect(try await client.reply().hasPrefix("220 bounces.kuvert.test"))
        try await client.write("LHLO mx.kuvert.test\r\n")
        #expect(try await client.reply().hasSuffix("250 SIZE \(BounceIntake.maximumSize)"))
        return client
    }

    /// The bounce address of the confirmation queued for the `n`th reader (from 1).
    package func bounceAddress(_ n: Int64) -> String { addresses.address(for: n) }

    /// `message` as DATA sends it: CRLF line ends, dot-stuffed, ended by a lone dot.
    package static func data(_ message: [UInt8]) -> [UInt8] {
        let text = String(decoding: message, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        return Array((lines.joined(separator: "\r\n") + "\r\n.\r\n").utf8)
    }

    package func events() async throws -> [BounceEvent] {
        try await app.store.writer.read { db in try BounceEvent.order(Column("id")).fetchAll(db) }
    }
}

package enum LMTPHarnessError: Error { case didNotListen }

/// A store whose every write fails, as one that cannot be reached.
package struct UnreachableBounceStore: BounceStore {
    package struct Unreachable: Error {}

    package init() {}
    package func recordBounce(_ event: BounceEvent, bounceLimit: Int) async throws -> BounceEvent { throw Unreachable() }
    package func latestBounces(limit: Int) async throws -> [BounceListing] { throw Unreachable() }
    package func bounces(messageId: Int64) async throws -> [BounceEvent] { throw Unreachable() }
}

extension LMTPSession.Action {
    package func isReply(starting prefix: String) -> Bool {
        if case .reply(let text) = self { return text.hasPrefix(prefix) }
        return false
    }
}
