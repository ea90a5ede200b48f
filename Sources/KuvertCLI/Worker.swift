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
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics and /healthz on HOST:PORT (KUVERT_METRICS_LISTEN); off by default.")
    var metricsListen: String?

    func run() async throws {
        let runtime = try await Runtime(options: options, templates: Runtime.mailTemplates)
        let registry = PrometheusCollectorRegistry()
        let mailer = try runtime.mailer(metrics: WebDependencies.metrics(registry))
        let listen = try metricsListen.map { try KuvertCore.Configuration.parseListen($0, name: "--metrics-listen") }
            ?? runtime.configuration.metricsListen
        guard let (host, port) = listen else {
            let group = ServiceGroup(services: [mailer], gracefulShutdownSignals: [.sigterm, .sigint], logger: runtime.logger)
            try await group.run()
            return
        }
        let app = buildMetricsApplication(
            store: runtime.store, registry: registry, host: host, port: port, services: [mailer], logger: runtime.logger)
        try await app.runService()
    }
}
