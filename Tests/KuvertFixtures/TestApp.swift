import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertApp
import KuvertSQLite
import KuvertTestSupport
import Logging

@testable import KuvertCore
@testable import KuvertWeb

/// A Kuvert web application over a real SQLite file in a temporary directory,
/// rendering the repository's own templates.
package final class TestApp: Sendable {
    package static let templatesDirectory = TestPaths.templates

    package let directory: String
    package let store: SQLiteStore
    package let dependencies: WebDependencies
    /// All of the settings; the web layer got its part in `dependencies`.
    package let settings: Settings
    package var signer: TokenSigner { dependencies.keys.signer }

    package init(
        resendWindow: TimeInterval = 3_600,
        confirmTTL: TimeInterval = 7 * 86_400,
        maxBodyBytes: Int = 16 * 1024,
        smtpURL: String? = nil,
        mailer: MailerBox? = nil,
        clientRateLimit: RateLimiter.Limit = .init(count: 100_000, window: 60),
        addressRateLimit: RateLimiter.Limit = .init(count: 100_000, window: 60),
        apiRateLimit: RateLimiter.Limit = .init(count: 100_000, window: 60),
        trustedProxies: [String] = [],
        idleTimeout: TimeInterval = 30,
        headerTimeout: TimeInterval = 10,
        maxConnectionsPerClient: Int = 64,
        metricsListen: (host: String, port: Int)? = nil,
        formMinimumSeconds: TimeInterval = 3,
        availability: StoreAvailability = StoreAvailability(logger: Logger(label: "store-test")),
        bounceWebhooks: BounceWebhookSettings = BounceWebhookSettings(),
        httpsGet: HTTPSGet = HTTPSGet()
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-web-\(UUID().uuidString)").path
        var settings = Settings(dataDirectory: directory)
        settings.subscriptions.resendWindow = resendWindow
        settings.subscriptions.confirmTTL = confirmTTL
        settings.http.maxBodyBytes = maxBodyBytes
        settings.http.listenPort = 0
        settings.mail.baseURL = "http://kuvert.test"
        if let smtpURL { settings.smtp.url = smtpURL }
        settings.security.clientRateLimit = clientRateLimit
        settings.security.addressRateLimit = addressRateLimit
        settings.security.apiRateLimit = apiRateLimit
        settings.security.trustedProxies = trustedProxies
        settings.http.idleTimeout = idleTimeout
        settings.http.headerTimeout = headerTimeout
        settings.http.maxConnectionsPerClient = maxConnectionsPerClient
        settings.http.metricsListen = metricsListen
        settings.security.formMinimumSeconds = formMinimumSeconds
        settings.storage.templatesDirectory = Self.templatesDirectory
        settings.bounceWebhooks = bounceWebhooks
        self.settings = settings
        store = try SQLiteStore.open(path: directory + "/kuvert.sqlite")
        let renderer = try await TemplateRenderer(
            directory: Self.templatesDirectory,
            required: WebDependencies.requiredTemplates + MessageComposer.templateNames
        )
        dependencies = try WebDependencies(
            settings: settings,
            store: store,
            keys: KeyRing(keys: [SymmetricKey(size: .bits256)]),
            renderer: renderer,
            mailQueued: { mailer?.mailer?.wake() },
            availability: availability,
            httpsGet: httpsGet,
            logger: Self.quietLogger
        )
    }

    /// A mailer sending through the configured SMTP server, as `kuvert serve` runs it.
    package func makeMailer(logger given: Logger? = nil) throws -> Mailer {
        var logger = Logger(label: "mailer-test")
        logger.logLevel = .critical
        if let given { logger = given }
        var settings = settings
        // Minutes: a test that gets its mail in seconds got it because intake woke the mailer.
        settings.mailer.idlePoll = 120
        // Built as `kuvert serve` builds its own.
        let runtime = Runtime(settings: settings, store: store)
        return runtime.mailer(composer: try runtime.composer(keys: dependencies.keys, renderer: dependencies.renderer, dkim: nil), logger: logger)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    private static var quietLogger: Logger {
        var logger = Logger(label: "kuvert-test")
        logger.logLevel = .warning
        return logger
    }

    package var application: some ApplicationProtocol {
        var logger = Logger(label: "kuvert-test")
        logger.logLevel = .warning
        return buildApplication(dependencies, logger: logger)
    }

    @discardableResult
    package func addList(
        _ slug: String = "news",
        name: String = "News & Views",
        language: Language = .en,
        thanksURL: String? = nil
    ) async throws -> MailingList {
        try await store.createList(
            MailingList(slug: slug, name: name, thanksURL: thanksURL, language: language, createdAt: Date()),
            terms: "# Terms v1\n\nWe send *one* letter a month.",
            actor: "test"
        )
    }

    /// Queues a newsletter to the list's active subscribers, the mail queued
    /// before it (confirmations, welcomes) marked skipped so that it alone is sent.
    package func queueNewsletter(_ subject: String, list: String = "news") async throws {
        try await store.writer.write { db in try db.execute(sql: "UPDATE outboxMessage SET status = 'skipped'") }
        let campaign = try await store.createCampaign(
            try Campaign.draft(subject: subject, markdown: "Hej!", now: Date()),
            listSlug: list,
            actor: "test"
        )
        _ = try await store.queueCampaign(id: campaign.id ?? -1, sendAt: Date(), now: Date(), batchSize: 10, actor: "test")
    }

    /// The path of the confirmation link in the newest confirmation mail, as the mailer would render it.
    package func newestConfirmationPath() async throws -> String {
        let id = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT max(id) FROM outboxMessage WHERE kind = 'confirmation'")
        }
        let delivery = try await store.outboxDelivery(id: id ?? -1)
        guard let delivery, let subscription = delivery.subscription else { throw TestAppError.noMail }
        let service = ConfirmationService(store: store, signer: signer, confirmTTL: settings.subscriptions.confirmTTL)
        let mail = try ConfirmationMail.render(
            subscription,
            list: delivery.list,
            to: delivery.address,
            token: service.token(for: subscription),
            baseURL: "",
            confirmTTL: settings.subscriptions.confirmTTL,
            renderer: dependencies.renderer
        )
        guard let line = mail.text.split(separator: "\n").first(where: { $0.hasPrefix("/confirm/") }) else {
            throw TestAppError.noLink
        }
        return String(line)
    }

    package func count(_ sql: String) async throws -> Int {
        try await store.writer.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    package func status(of email: String) async throws -> String? {
        try await store.writer.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT status FROM subscription JOIN subscriber ON subscriber.id = subscriberId WHERE addressKey = ?",
                arguments: [try EmailAddress(email).key]
            )
        }
    }
}

package enum TestAppError: Error { case noMail, noLink }

/// Holds the mailer a test app wakes, set once the mailer exists.
package final class MailerBox: @unchecked Sendable {
    // @unchecked: set once before the server handles its first request, read after.
    package var mailer: Mailer?

    package init() {}
}

extension TestClientProtocol {
    package func postForm(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = headers[.contentType] ?? "application/x-www-form-urlencoded"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    package func postJSON(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }
}

extension TestResponse {
    package var text: String { String(buffer: body) }
}
