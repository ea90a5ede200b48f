import ArgumentParser
import Hummingbird
import KuvertCore
import KuvertWeb
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `kuvert worker`: the mailer alone.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the mailer worker only; several may share one store.",
        discussion: """
            Sends queued mail through KUVERT_SMTP_URL over KUVERT_SMTP_CONNECTIONS sessions until SIGTERM or \
            SIGINT, then finishes the messages in hand and returns the rest to the queue.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics and /healthz on HOST:PORT (KUVERT_METRICS_LISTEN); off by default."
    )
    var metricsListen: String?

    func run() async throws {
        // A flag's error names the flag, not the variable it overrides.
        if let metricsListen { _ = try SettingSource.listen(metricsListen, name: "--metrics-listen") }
        let runtime = try await Runtime.serving(options, extra: ["KUVERT_METRICS_LISTEN": metricsListen])
        let logger = runtime.startLogging()
        let registry = PrometheusCollectorRegistry()
        let mailer = try runtime.mailer(
            keys: try runtime.keys(),
            renderer: try await runtime.renderer(Runtime.mailTemplates),
            logger: logger,
            metrics: WebDependencies.metrics(registry)
        )
        let webhooks = runtime.webhookSender(logger: logger, metrics: WebDependencies.metrics(registry))
        let services: [any Service] = runtime.storeServices + [mailer] + (webhooks.map { [$0] } ?? [])
        guard let (host, port) = runtime.settings.http.metricsListen else {
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
            return
        }
        let app = buildMetricsApplication(
            store: runtime.store,
            registry: registry,
            host: host,
            port: port,
            services: services,
            logger: logger
        )
        try await app.runService()
    }
}
