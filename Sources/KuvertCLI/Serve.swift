import ArgumentParser
import Hummingbird
import KuvertCore
import KuvertWeb
import Logging
import Prometheus
import ServiceLifecycle

/// `kuvert serve`: the HTTP server and the mailer worker in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server and the mailer worker.",
        discussion: """
            Listens on KUVERT_LISTEN (default 127.0.0.1:8080) and sends queued mail through KUVERT_SMTP_URL \
            until SIGTERM or SIGINT, then finishes the messages in hand and exits.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on, HOST:PORT (KUVERT_LISTEN).")
    var listen: String?

    @Flag(name: .customLong("no-mailer"), help: "Serve HTTP only; run 'kuvert worker' elsewhere to send.")
    var noMailer = false

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics (and /healthz) on HOST:PORT only (KUVERT_METRICS_LISTEN); else /metrics answers loopback clients only.")
    var metricsListen: String?

    func run() async throws {
        let runtime = try await Runtime(
            options: options, extra: ["KUVERT_LISTEN": listen, "KUVERT_METRICS_LISTEN": metricsListen],
            templates: WebDependencies.requiredTemplates + Runtime.mailTemplates)
        let registry = PrometheusCollectorRegistry()
        let mailer = noMailer ? nil : try runtime.mailer(metrics: WebDependencies.metrics(registry))
        let configuration = runtime.configuration
        let retention = RetentionService(
            retention: Retention(
                store: runtime.store, suppression: SuppressionKey(signingKey: runtime.keys[0]),
                confirmTTL: configuration.confirmTTL, retention: configuration.retention,
                messageRetention: configuration.messageRetention),
            logger: runtime.logger)
        let app = buildApplication(
            WebDependencies(
                configuration: configuration, store: runtime.store, signer: runtime.signer, renderer: runtime.renderer,
                suppression: SuppressionKey(signingKey: runtime.keys[0]), mailQueued: { mailer?.wake() },
                registry: registry),
            services: (mailer.map { [$0] } ?? []) + [retention] + metricsApplication(runtime, registry: registry),
            logger: runtime.logger)
        runtime.logger.info("kuvert serve starting", metadata: [
            "listen": "\(configuration.listenHost):\(configuration.listenPort)",
            "database": .string(configuration.databasePath),
            "mailer": .stringConvertible(!noMailer),
        ])
        try await app.runService()
    }

    /// The listener of `KUVERT_METRICS_LISTEN`, when set.
    private func metricsApplication(_ runtime: Runtime, registry: PrometheusCollectorRegistry) -> [any Service] {
        guard let (host, port) = runtime.configuration.metricsListen else { return [] }
        return [buildMetricsApplication(
            store: runtime.store, registry: registry, host: host, port: port, services: [], logger: runtime.logger)]
    }
}
