import Crypto
import Foundation
import KuvertCore
import KuvertWeb
import Logging

/// The parts a running Kuvert is made of, built once from the configuration.
struct Runtime {
    let configuration: KuvertCore.Configuration
    let store: AppDatabase
    let keys: [SymmetricKey]
    let signer: TokenSigner
    let renderer: TemplateRenderer
    let logger: Logger

    /// Opens the store, loads the keys and templates: every check that can fail
    /// at start fails here, with a one-line reason.
    init(options: ConfigurationOptions, extra: [String: String?] = [:], templates: [String]) async throws {
        configuration = try options.resolve(extra: extra)
        // serve and worker own the schema: they migrate at start.
        store = try options.openStore(configuration, schema: .migrate)
        keys = try SecretKeys.load(configuration)
        signer = TokenSigner(keys: keys)
        renderer = try await TemplateRenderer(directory: configuration.templatesDirectory, required: templates)
        let configuration = configuration
        LoggingSystem.bootstrap { label in
            KuvertLogHandler(label: label, format: configuration.logFormat, level: configuration.logLevel)
        }
        self.logger = Logger(label: "kuvert")
    }

    /// Every mail template the mailer needs.
    static let mailTemplates = MessageComposer.templateNames

    /// The mailer worker over libcurl SMTP sessions.
    func mailer(metrics: KuvertMetrics) throws -> Mailer {
        let smtp = try SMTPSettings(configuration)
        return Mailer(
            store: store,
            composer: try MessageComposer(configuration: configuration, renderer: renderer, signer: signer),
            settings: MailerSettings(configuration),
            makeTransport: { try SMTPTransport(settings: smtp) },
            logger: logger, metrics: metrics)
    }
}
