import ArgumentParser
import Hummingbird
import KuvertCore
import KuvertWeb
import Logging

/// `kuvert serve`: the HTTP server (and, from the delivery issue on, the mailer).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: subscription intake, confirmation pages and health checks.",
        discussion: "Listens on KUVERT_LISTEN (default 127.0.0.1:8080) until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on, HOST:PORT (KUVERT_LISTEN).")
    var listen: String?

    func run() async throws {
        let configuration = try options.resolve(extra: ["KUVERT_LISTEN": listen])
        let store = try options.openStore(configuration)
        let signer = TokenSigner(keys: try SecretKeys.load(configuration))
        let renderer = try await TemplateRenderer(
            directory: configuration.templatesDirectory,
            required: WebDependencies.requiredTemplates + ConfirmationMail.templateNames)
        var logger = Logger(label: "kuvert")
        logger.logLevel = .info
        let app = buildApplication(
            WebDependencies(configuration: configuration, store: store, signer: signer, renderer: renderer),
            logger: logger)
        logger.info("kuvert serve starting", metadata: [
            "listen": "\(configuration.listenHost):\(configuration.listenPort)",
            "database": .string(configuration.databasePath),
        ])
        try await app.runService()
    }
}
