import CMalloc
import Foundation
import KuvertCore
import KuvertPostgres
import KuvertSQLite
import KuvertWeb
import Logging
import ServiceLifecycle
import Synchronization

/// The one place where a command's parts are built from the settings: the
/// store, the keys, the templates, the mailer, the retention job. Nothing
/// past here knows which store runs.
struct Runtime {
    let settings: Settings
    let store: any KuvertStore
    /// What must run in the process's `ServiceGroup` for the store to work
    /// (PostgreSQL's client, for `serve` and `worker`), first, so that it stops last.
    let storeServices: [any Service]

    /// Reads the settings and opens the store, which must have the current
    /// schema (every command but `migrate`, `serve` and `worker` changes none).
    init(_ options: ConfigurationOptions, extra: [String: String?] = [:]) async throws {
        try await self.init(try options.settings(extra: extra), schema: .requireCurrent)
    }

    /// The store of settings already read, migrated or checked. A PostgreSQL
    /// store's client runs until the command ends (`closeStores`).
    init(_ settings: Settings, schema: SchemaPolicy) async throws {
        self.settings = settings
        storeServices = []
        switch settings.storage.store {
        case .sqlite(let path):
            store = try Self.openSQLite(path, schema: schema)
        case .postgres(let location):
            let store = try await PostgresStore.open(location, schema: schema, logger: Self.postgresLogger)
            Self.opened.withLock { $0.append(store) }
            self.store = store
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

    /// For `serve` and `worker`: the settings, and the store migrated. A
    /// PostgreSQL store's client is one of the process's services.
    static func serving(_ options: ConfigurationOptions, extra: [String: String?]) async throws -> Runtime {
        keepFreedMemory()
        let settings = try options.settings(extra: extra)
        // Webhook events queue only while a webhook is set; each node says so at start.
        let webhooks = settings.webhook != nil
        guard case .postgres(let location) = settings.storage.store else {
            let runtime = try await Runtime(settings, schema: .migrate)
            try await runtime.store.setWebhooks(enabled: webhooks)
            return runtime
        }
        // Every node must verify the links every other node signs: checked
        // against the keys of the nodes started within the links' lifetime.
        let keys = try KeyRing.load(settings.storage)
        try await withPostgres(location, schema: .migrate) { store in
            try await store.checkSigningKeys(keys, window: max(settings.subscriptions.confirmTTL, 86_400), now: Date())
            try await store.setWebhooks(enabled: webhooks)
        }
        return Runtime(settings: settings, service: PostgresStore.service(location, logger: postgresLogger))
    }

    private init(settings: Settings, service store: PostgresStore) {
        self.settings = settings
        self.store = store
        storeServices = [store]
    }

    /// The SQLite store at `path`, or a one-line reason it cannot be opened.
    static func openSQLite(_ path: String, schema: SchemaPolicy) throws -> SQLiteStore {
        do {
            return try SQLiteStore.open(path: path, schema: schema)
        } catch let error as KuvertError {
            throw error
        } catch {
            throw CommandFailure(message: "Cannot open the database \(path): \(error)")
        }
    }

    /// PostgreSQL stores opened by commands, closed when the command ends.
    private static let opened = Mutex<[PostgresStore]>([])

    /// Closes what commands opened: called once by `Kuvert.main` as the command ends.
    static func closeStores() async {
        for store in opened.withLock({ stores in
            defer { stores = [] }
            return stores
        }) { await store.close() }
    }

    /// postgres-nio's background logs, quiet but for errors.
    static var postgresLogger: Logger {
        var logger = Logger(label: "kuvert.postgres")
        logger.logLevel = .error
        return logger
    }

    /// `body` with the PostgreSQL store of `location`, migrated or checked; the
    /// client stops afterwards.
    static func withPostgres<T>(
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
    func keys() throws -> KeyRing {
        try KeyRing.load(settings.storage)
    }

    /// The templates, every one of `required` checked now.
    func renderer(_ required: [String]) async throws -> TemplateRenderer {
        try await TemplateRenderer(directory: settings.storage.templatesDirectory, required: required)
    }

    /// Logging as `KUVERT_LOG_FORMAT` and `KUVERT_LOG_LEVEL` say, for a long-running process.
    func startLogging() -> Logger {
        let logging = settings.logging
        LoggingSystem.bootstrap { label in KuvertLogHandler(label: label, format: logging.format, level: logging.level) }
        return Logger(label: "kuvert")
    }

    /// Every mail template the mailer needs.
    static let mailTemplates = MessageComposer.templateNames

    /// The DKIM keys in the data directory, loaded once; nil with `KUVERT_DKIM=off`.
    func dkim() throws -> DKIMSigner? {
        guard settings.mail.dkim else { return nil }
        return DKIMSigner(try DKIMKeyDirectory(dataDirectory: settings.storage.dataDirectory).load())
    }

    /// Renders outbox rows into mail as the mailer sends them, signed where a key exists.
    func composer(keys: KeyRing, renderer: TemplateRenderer) throws -> MessageComposer {
        try MessageComposer(
            mail: settings.mail,
            confirmTTL: settings.subscriptions.confirmTTL,
            renderer: renderer,
            signer: keys.signer,
            dkim: try dkim(),
            bounces: settings.mail.bounceDomain.map(keys.bounceAddresses(domain:))
        )
    }

    /// The mailer worker over libcurl SMTP sessions.
    /// - Parameter besideWeb: the mailer shares its process with the web, whose
    ///   answers come first: its sessions run at nice 19. With every core busy
    ///   at nice 0 they still get about 1.5 % of the CPU by the scheduler's
    ///   weights, some two hundred messages a second; in the intake benchmark
    ///   they sent about 1,700 a second meanwhile.
    func mailer(
        keys: KeyRing,
        renderer: TemplateRenderer,
        logger: Logger,
        metrics: KuvertMetrics,
        besideWeb: Bool = false
    ) throws -> Mailer {
        let smtp = settings.smtp
        return Mailer(
            store: store,
            composer: try composer(keys: keys, renderer: renderer),
            settings: settings.mailer,
            makeTransport: { try SMTPTransport(settings: smtp) },
            logger: logger,
            metrics: metrics,
            sessionNice: besideWeb ? 19 : 0
        )
    }

    /// What sends the webhook outbox; nil without `KUVERT_WEBHOOK_URL`.
    func webhookSender(logger: Logger, metrics: KuvertMetrics) -> WebhookSender? {
        settings.webhook.map { webhook in
            WebhookSender(settings: webhook, store: store, mailer: settings.mailer, holder: .current, metrics: metrics, logger: logger)
        }
    }

    /// What takes messages for the bounce addresses; nil without `KUVERT_BOUNCE_DOMAIN`.
    func bounceIntake(keys: KeyRing, logger: Logger, metrics: KuvertMetrics) -> BounceIntake? {
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
    func retention(keys: KeyRing) -> Retention {
        Retention(
            store: store,
            suppression: keys.suppression,
            confirmTTL: settings.subscriptions.confirmTTL,
            retention: settings.retention.retention,
            messageRetention: settings.retention.messageRetention
        )
    }
}
