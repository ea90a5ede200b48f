import ArgumentParser
import Hummingbird
import KuvertCore
import KuvertLMTP
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
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on, HOST:PORT (KUVERT_LISTEN).")
    var listen: String?

    @Flag(name: .customLong("no-mailer"), help: "Serve HTTP only; run 'kuvert worker' elsewhere to send.")
    var noMailer = false

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics (and /healthz) on HOST:PORT only (KUVERT_METRICS_LISTEN); else /metrics answers loopback clients only."
    )
    var metricsListen: String?

    func run() async throws {
        // A flag's error names the flag, not the variable it overrides.
        if let listen { _ = try SettingSource.listen(listen, name: "--listen") }
        if let metricsListen { _ = try SettingSource.listen(metricsListen, name: "--metrics-listen") }
        let runtime = try await Runtime.serving(
            options,
            extra: ["KUVERT_LISTEN": listen, "KUVERT_METRICS_LISTEN": metricsListen]
        )
        let keys = try runtime.keys()
        let renderer = try await runtime.renderer(WebDependencies.requiredTemplates + Runtime.mailTemplates)
        let logger = runtime.startLogging()
        // Client connections are bounded below this (KUVERT_MAX_CONNECTIONS).
        let descriptors = DescriptorLimit.raise()
        if let cap = runtime.settings.http.maxConnections, cap > descriptors - DescriptorLimit.reserved {
            logger.warning("KUVERT_MAX_CONNECTIONS is \(cap), but the process may open \(descriptors) descriptors; raise LimitNOFILE")
        }
        let registry = PrometheusCollectorRegistry()
        let mailer =
            noMailer
            ? nil
            : try runtime.mailer(
                keys: keys,
                renderer: renderer,
                logger: logger,
                metrics: WebDependencies.metrics(registry),
                besideWeb: true
            )
        // Nodes that send mail send webhooks too.
        let webhooks = mailer == nil ? nil : runtime.webhookSender(logger: logger, metrics: WebDependencies.metrics(registry))
        let retention = RetentionService(retention: runtime.retention(keys: keys), logger: logger)
        // What takes the bounce domain's mail: the LMTP listener, the mailbox reader.
        var bounces: [any Service] = []
        if let intake = runtime.bounceIntake(keys: keys, logger: logger, metrics: WebDependencies.metrics(registry)) {
            if let (host, port) = runtime.settings.mail.lmtpListen {
                bounces.append(LMTPServer(host: host, port: port, intake: intake, logger: logger))
            }
            if let mailbox = runtime.settings.mail.bounceMailbox {
                bounces.append(BounceMailboxPoller(settings: mailbox, intake: intake, logger: logger))
            }
        }
        let app = buildApplication(
            try WebDependencies(
                settings: runtime.settings,
                store: runtime.store,
                keys: keys,
                renderer: renderer,
                mailQueued: { mailer?.wake() },
                registry: registry
            ),
            services: runtime.storeServices + (mailer.map { [$0] } ?? []) + (webhooks.map { [$0] } ?? []) + [retention] + bounces
                + metricsApplication(runtime, registry: registry, logger: logger),
            logger: logger
        )
        let http = runtime.settings.http
        logger.info(
            "kuvert serve starting",
            metadata: [
                "listen": "\(http.listenHost):\(http.listenPort)",
                "database": .string(runtime.settings.storage.store.logText),
                "mailer": .stringConvertible(!noMailer),
            ]
        )
        try await app.runService()
    }

    /// The listener of `KUVERT_METRICS_LISTEN`, when set.
    private func metricsApplication(_ runtime: Runtime, registry: PrometheusCollectorRegistry, logger: Logger) -> [any Service] {
        guard let (host, port) = runtime.settings.http.metricsListen else { return [] }
        return [
            buildMetricsApplication(
                store: runtime.store,
                registry: registry,
                host: host,
                port: port,
                services: [],
                logger: logger
            )
        ]
    }
}
