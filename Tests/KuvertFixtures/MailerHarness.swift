import Crypto
import Foundation
import GRDB
import KuvertApp
import KuvertSQLite
import KuvertTestSupport
import Logging

@testable import KuvertCore

/// A mailer over a real store and a real SMTP server, with fast retries.
package final class MailerHarness: Sendable {
    package let store: StoreUnderTest
    package let server: SMTPTestServer
    package let settings: Settings
    package let keys = KeyRing(keys: [SymmetricKey(size: .bits256)])
    package var signer: TokenSigner { keys.signer }
    package let renderer: TemplateRenderer
    /// Signs what the mailer sends; nil for no signing.
    package let dkim: DKIMSigner?

    package init(dkim: DKIMSigner? = nil, configure: (inout Settings) -> Void = { _ in }) async throws {
        self.dkim = dkim
        store = try StoreUnderTest()
        server = try SMTPTestServer()
        var settings = Settings(dataDirectory: store.directory)
        settings.smtp = SMTPSettings(url: server.url, connectTimeout: 2, transferTimeout: 10)
        settings.mail.from = "Kuvert Test <news@kuvert.example>"
        settings.mail.baseURL = "https://news.example.se"
        settings.mailer.retryBase = 0.05
        settings.subscriptions.resendWindow = 0
        configure(&settings)
        self.settings = settings
        renderer = try await TemplateRenderer(
            directory: TestPaths.templates,
            required: MessageComposer.templateNames
        )
    }

    package var confirmation: ConfirmationService {
        ConfirmationService(store: store.database, signer: signer, confirmTTL: settings.subscriptions.confirmTTL)
    }

    /// - Parameter transport: the mailer's SMTP session; an `SMTPTransport` to the test server unless given.
    package func makeMailer(
        idlePoll: TimeInterval = 0.05,
        journaled: Bool = true,
        transport: (@Sendable (SMTPSettings) throws -> any MailTransport)? = nil
    ) throws -> Mailer {
        var settings = settings
        settings.mailer.idlePoll = idlePoll
        var logger = Logger(label: "mailer-test")
        logger.logLevel = .critical
        // Built as `kuvert serve` and `kuvert worker` build theirs.
        let runtime = Runtime(settings: settings, store: store.store)
        return runtime.mailer(
            composer: try runtime.composer(keys: keys, renderer: renderer, dkim: dkim),
            logger: logger,
            transport: transport,
            journaled: journaled
        )
    }

    /// Runs a mailer while `body` runs, then stops it and waits for it to finish.
    package func withMailer<T>(_ body: (Mailer) async throws -> T) async throws -> T {
        let mailer = try makeMailer()
        let task = Task { try await mailer.run() }
        do {
            let result = try await body(mailer)
            task.cancel()
            try await task.value
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
    }

    /// Returns once every session of `mailer` has looked at the outbox as it is
    /// now (two finished lease rounds since the call), so "nothing was sent"
    /// afterwards means the mailer chose not to send, not that it had not looked.
    package func waitUntilLooked(_ mailer: Mailer) async throws {
        let before = mailer.finishedRounds
        mailer.wake()
        try await eventually(timeout: 20, "every mailer session looked at the outbox") {
            zip(mailer.finishedRounds, before).allSatisfy { $0 >= $1 + 2 }
        }
    }

    /// Asks for a subscription to `list` as the web form would.
    @discardableResult
    package func subscribe(_ email: String, list: String = "news", name: String? = nil) async throws -> IntakeOutcome {
        try await store.store.request(email, list: list, name: name)
    }

    package func outbox() async throws -> [OutboxMessage] {
        try await store.sql { db in try OutboxMessage.order(Column("id")).fetchAll(db) }
    }

    package func waitForOutbox(_ what: String, timeout: TimeInterval = 30, _ condition: @escaping ([OutboxMessage]) -> Bool) async throws {
        try await eventually(timeout: timeout, what) { condition(try await self.outbox()) }
    }
}
