import Foundation
import KuvertCore
import KuvertPostgres
import KuvertWeb
import Logging

/// The one place where a command's parts are built from the settings: the
/// store, the keys, the templates, the mailer, the retention job.
struct Runtime {
    let settings: Settings
    let store: AppDatabase

    /// Reads the settings and opens the store. Only `kuvert migrate`, `serve`
    /// and `worker` migrate it (`schema: .migrate`); other commands need it
    /// current and change no schema.
    init(_ options: ConfigurationOptions, extra: [String: String?] = [:], schema: AppDatabase.Schema = .requireCurrent) throws {
        try self.init(try options.settings(extra: extra), schema: schema)
    }

    /// The store of settings already read.
    init(_ settings: Settings, schema: AppDatabase.Schema = .requireCurrent) throws {
        self.settings = settings
        store = try Self.openStore(settings.storage, schema: schema)
    }

    /// The store of `storage`, or a one-line reason it cannot be opened.
    static func openStore(_ storage: StorageSettings, schema: AppDatabase.Schema = .requireCurrent) throws -> AppDatabase {
        guard case .sqlite(let path) = storage.store else {
            throw CommandFailure(message: "KUVERT_DATABASE names a PostgreSQL store: this kuvert runs only kuvert migrate, "
                + "kuvert doctor and kuvert lists on PostgreSQL; every other command needs a SQLite store for now.")
        }
        do {
            return try AppDatabase.open(path: path, schema: schema)
        } catch let error as KuvertError {
            throw error
        } catch {
            throw CommandFailure(message: "Cannot open the database \(path): \(error)")
        }
    }

    /// `body` with the lists of whichever store `KUVERT_DATABASE` names, which
    /// must have the current schema.
    static func withLists<T>(_ options: ConfigurationOptions, _ body: (any ListStore) async throws -> T) async throws -> T {
        let settings = try options.settings()
        switch settings.storage.store {
        case .postgres(let location): return try await withPostgres(location, schema: .requireCurrent, body)
        case .sqlite: return try await body(try openStore(settings.storage))
        }
    }

    /// `body` with the PostgreSQL store of `location`, migrated or checked; the
    /// client stops afterwards. Its background logs are quiet but for errors.
    static func withPostgres<T>(
        _ location: PostgresLocation, schema: AppDatabase.Schema, _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "kuvert.postgres")
        logger.logLevel = .error
        let store = try await PostgresStore.open(location, schema: schema, logger: logger)
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
            mail: settings.mail, confirmTTL: settings.subscriptions.confirmTTL, renderer: renderer, signer: keys.signer,
            dkim: try dkim())
    }

    /// The mailer worker over libcurl SMTP sessions.
    func mailer(keys: KeyRing, renderer: TemplateRenderer, logger: Logger, metrics: KuvertMetrics) throws -> Mailer {
        let smtp = settings.smtp
        return Mailer(
            store: store, composer: try composer(keys: keys, renderer: renderer), settings: settings.mailer,
            makeTransport: { try SMTPTransport(settings: smtp) }, logger: logger, metrics: metrics)
    }

    /// What retention deletes and erases, and when.
    func retention(keys: KeyRing) -> Retention {
        Retention(
            store: store, suppression: keys.suppression, confirmTTL: settings.subscriptions.confirmTTL,
            retention: settings.retention.retention, messageRetention: settings.retention.messageRetention)
    }
}
