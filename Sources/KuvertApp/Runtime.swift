import CMalloc
import Foundation
import KuvertCore
import KuvertPostgres
import KuvertSQLite
import KuvertWeb
import Logging
import ServiceLifecycle

/// The composition root: the one place where a process's parts are built
/// from the settings (the store, the keys, the templates, the mailer, the
/// retention job) and the one place that picks a store. Nothing past here
/// knows which store runs. The `kuvert` commands and the tests build through it.
public struct Runtime: Sendable {
    public let settings: Settings
    public let store: any KuvertStore
    /// What must run in the process's `ServiceGroup` for the store to work
    /// (PostgreSQL's client, for `serve` and `worker`), first, so that it stops last.
    public let storeServices: [any Service]

    /// The schema versions this binary writes, per store (`kuvert --version`).
    public static let schemaVersions = "SQLite \(SQLiteStore.schemaVersion), PostgreSQL \(PostgresStore.schemaVersion)"

    /// Parts over a store the caller opened and closes (the tests' fixtures).
    public init(settings: Settings, store: any KuvertStore) {
        self.settings = settings
        self.store = store
        storeServices = []
    }

    /// `body` with the store of `settings`, migrated or checked as `schema`
    /// says; the store is closed when `body` returns or throws.
    public static func with<T>(
        _ settings: Settings,
        schema: SchemaPolicy,
        _ body: (Runtime) async throws -> T
    ) async throws -> T {
        switch settings.storage.store {
        case .sqlite(let path):
            return try await body(Runtime(settings: settings, store: try openSQLite(path, schema: schema)))
        case .postgres(let location):
            return try await withPostgres(location, schema: schema) { store in
                try await body(Runtime(settings: settings, store: store))
            }
        }
    }

    /// Keeps up to 64 MiB of freed heap in the process instead of handing it
    /// back at once. SQLite sets up a page cache for every write transaction
    /// and frees it after, and glibc returned that memory each time only to
    /// fault it in again: about four page faults a message sent, 10 % of the
    /// worker's CPU. A long-running server wants its heap to stay put.
    private static func keepFreedMemory() {
        kuvert_keep_freed_memory(64 << 20, 16 << 20)
    }

    /// For `serve` and `worker`: the settings, and the store migrated and
    /// checked as a node starting on it. A PostgreSQL store's client is one of
    /// the process's services.
    public static func serving(_ settings: Settings) async throws -> Runtime {
        keepFreedMemory()
        switch settings.storage.store {
        case .sqlite(let path):
            let store = try openSQLite(path, schema: .migrate)
            try await startNode(on: store, settings)
            return Runtime(settings: settings, store: store)
        case .postgres(let location):
            try await withPostgres(location, schema: .migrate) { try await startNode(on: $0, settings) }
            return Runtime(settings: settings, service: PostgresStore.service(location, logger: postgresLogger))
        }
    }

    /// What each node says and checks as it starts on a store.
    private static func startNode(on store: any KuvertStore, _ settings: Settings) async throws {
        // Every node must verify the links every other node signs: checked
        // against the keys of the nodes started within the links' lifetime.
        let keys = try KeyRing.load(settings.storage)
        try await store.checkSigningKeys(keys, window: max(settings.subscriptions.confirmTTL, 86_400), now: Date())
        // Webhook events queue only while a webhook is set.
        try await store.setWebhooks(enabled: settings.webhook != nil)
    }

    private init(settings: Settings, service store: PostgresStore) {
        self.settings = settings
        self.store = store
        storeServices = [store]
    }

    /// The SQLite store at `path`, or a one-line reason it cannot be opened.
    private static func openSQLite(_ path: String, schema: SchemaPolicy) throws -> SQLiteStore {
        do {
            return try SQLiteStore.open(path: path, schema: schema)
        } catch let error as KuvertError {
            throw error
        } catch {
            throw KuvertError.configuration("Cannot open the database \(path): \(error)")
        }
    }

    /// postgres-nio's background logs, quiet but for errors.
    private static var postgresLogger: Logger {
        var logger = Logger(label: "kuvert.postgres")
        logger.logLevel = .error
        return logger
    }

    /// `body` with the PostgreSQL store of `location`, migrated or checked; the
    /// client stops afterwards.
    private static func withPostgres<T>(
        _ location: PostgresLocation,
        schema: SchemaPolicy,
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try await PostgresStore.open(location, schema: schema, logger: postgresLogger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The signer of links and the suppression key, from `KUVERT_SECRET` or the key file.
    public func keys() throws -> KeyRing {
        try KeyRing.load(settings.storage)
    }

    /// The templates, every one of `required` checked now.
    public func renderer(_ required: [String]) async throws -> TemplateRenderer {
        try await TemplateRenderer(directory: settings.storage.templatesDirectory, required: required)
    }

    /// Logging as `KUVERT_LOG_FORMAT` and `KUVERT_LOG_LEVEL` say, for a long-running process.
    public func startLogging() -> Logger {
        let logging = settings.logging
        LoggingSystem.bootstrap { label in KuvertLogHandler(label: label, format: logging.format, level: logging.level) }
        return Logger(label: "kuvert")
    }

    /// Every mail template the mailer needs.
    public static let mailTemplates = MessageComposer.templateNames

    /// The DKIM keys in the data directory, loaded once; nil with `KUVERT_DKIM=off`.
    public func dkim() throws -> DKIMSigner? {
        guard settings.mail.dkim else { return nil }
        return DKIMSigner(try DKIMKeyDirectory(dataDirectory: settings.storage.dataDirectory).load())
    }

    /// Renders outbox rows into mail as the mailer sends them, signed where a key exists.
    public func composer(keys: KeyRing, renderer: TemplateRenderer) throws -> MessageComposer {
        try composer(keys: keys, renderer: renderer, dkim: try dkim())
    }

    /// Renders outbox rows into mail, signed by `dkim` when given.
    public func composer(keys: KeyRing, renderer: TemplateRenderer, dkim: DKIMSigner?) throws -> MessageComposer {
        try MessageComposer(
            mail: settings.mail,
            confirmTTL: settings.subscriptions.confirmTTL,
            renderer: renderer,
            signer: keys.signer,
            dkim: dkim,
            bounces: settings.mail.bounceDomain.map(keys.bounceAddresses(domain:)),
            tags: keys.messageTags,
            echoes: Array(settings.bounceWebhooks.values.keys)
        )
    }

    /// The mailer worker over libcurl SMTP sessions.
    /// - Parameters:
    ///   - besideWeb: the mailer shares its process with the web, whose
    ///     answers come first: its sessions run at nice 19. With every core busy
    ///     at nice 0 they still get about 1.5 % of the CPU by the scheduler's
    ///     weights, some two hundred messages a second; in the intake benchmark
    ///     they sent about 1,700 a second meanwhile.
    ///   - transport: the sessions' transport; libcurl's SMTP to `KUVERT_SMTP_URL`
    ///     unless given (tests that watch each message's last bytes).
    ///   - journaled: false commits each record even where the store keeps a
    ///     journal (tests of that path).
    public func mailer(
        composer: MessageComposer,
        logger: Logger,
        metrics: KuvertMetrics = .none,
        besideWeb: Bool = false,
        transport: (@Sendable (SMTPSettings) throws -> any MailTransport)? = nil,
        journaled: Bool = true
    ) -> Mailer {
        let smtp = settings.smtp
        return Mailer(
            store: store,
            composer: composer,
            settings: settings.mailer,
            makeTransport: { try transport?(smtp) ?? SMTPTransport(settings: smtp) },
            logger: logger,
            metrics: metrics,
            journaled: journaled,
            sessionNice: besideWeb ? 19 : 0
        )
    }

    /// What sends the webhook outbox; nil without `KUVERT_WEBHOOK_URL`.
    public func webhookSender(logger: Logger, metrics: KuvertMetrics) -> WebhookSender? {
        settings.webhook.map { webhook in
            WebhookSender(settings: webhook, store: store, mailer: settings.mailer, holder: .current, metrics: metrics, logger: logger)
        }
    }

    /// What takes messages for the bounce addresses; nil without `KUVERT_BOUNCE_DOMAIN`.
    public func bounceIntake(keys: KeyRing, logger: Logger, metrics: KuvertMetrics) -> BounceIntake? {
        settings.mail.bounceDomain.map { domain in
            BounceIntake(
                addresses: keys.bounceAddresses(domain: domain),
                store: store,
                bounceLimit: settings.mailer.bounceLimit,
                metrics: metrics,
                logger: logger
            )
        }
    }

    /// What retention deletes and erases, and when.
    public func retention(keys: KeyRing) -> Retention {
        Retention(
            store: store,
            suppression: keys.suppression,
            confirmTTL: settings.subscriptions.confirmTTL,
            retention: settings.retention.retention,
            messageRetention: settings.retention.messageRetention
        )
    }
}
