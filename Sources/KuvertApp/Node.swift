import Hummingbird
import KuvertCore
import KuvertLMTP
import KuvertWeb
import Logging
import Prometheus
import ServiceLifecycle

/// What a long-running process runs.
public enum NodeRole: Sendable {
    /// `kuvert serve`: the web, and the mailer unless `mailer` is false.
    case serve(mailer: Bool)
    /// `kuvert worker`: the mailer alone.
    case worker
}

extension Runtime {
    /// Everything a `serve` or `worker` process runs, as one service: the
    /// store's client first (so that it stops last), the web or the metrics
    /// listener, the mailer, the webhook sender, retention and the bounce
    /// listeners, as the settings ask.
    public func node(_ role: NodeRole, logger: Logger) async throws -> any Service {
        let keys = try keys()
        let registry = PrometheusCollectorRegistry()
        let metrics = WebDependencies.metrics(registry)
        let sendsMail: Bool
        let required: [String]
        switch role {
        case .serve(let mailer):
            sendsMail = mailer
            required = WebDependencies.requiredTemplates + Self.mailTemplates
        case .worker:
            sendsMail = true
            required = Self.mailTemplates
        }
        let renderer = try await renderer(required)
        let mailer =
            sendsMail
            ? mailer(
                composer: try composer(keys: keys, renderer: renderer),
                logger: logger,
                metrics: metrics,
                besideWeb: role.servesWeb
            ) : nil
        // Nodes that send mail send webhooks too.
        let webhooks = mailer == nil ? nil : webhookSender(logger: logger, metrics: metrics)
        var services = storeServices + (mailer.map { [$0] } ?? []) + (webhooks.map { [$0] } ?? [])
        guard role.servesWeb else {
            guard let (host, port) = settings.http.metricsListen else {
                return ServicesInOrder(services: services, logger: logger)
            }
            return buildMetricsApplication(store: store, registry: registry, host: host, port: port, services: services, logger: logger)
        }
        services.append(RetentionService(retention: retention(keys: keys), logger: logger))
        let wake: (@Sendable () -> Void)? = mailer.map { mailer in { @Sendable in mailer.wake() } }
        services.append(TermsDeadlineService(store: store, wake: wake, logger: logger))
        // What takes the bounce domain's mail: the LMTP listener, the mailbox reader.
        if let intake = bounceIntake(keys: keys, logger: logger, metrics: metrics) {
            if let (host, port) = settings.mail.lmtpListen {
                services.append(LMTPServer(host: host, port: port, intake: intake, logger: logger))
            }
            if let mailbox = settings.mail.bounceMailbox {
                services.append(BounceMailboxPoller(settings: mailbox, intake: intake, logger: logger))
            }
        }
        // The listener of `KUVERT_METRICS_LISTEN`, when set.
        if let (host, port) = settings.http.metricsListen {
            services.append(buildMetricsApplication(store: store, registry: registry, host: host, port: port, services: [], logger: logger))
        }
        return buildApplication(
            try WebDependencies(
                settings: settings,
                store: store,
                keys: keys,
                renderer: renderer,
                mailQueued: { mailer?.wake() },
                registry: registry,
                logger: logger
            ),
            services: services,
            logger: logger
        )
    }
}

extension NodeRole {
    var servesWeb: Bool {
        if case .serve = self { return true }
        return false
    }
}

/// Services run as one, started in order and stopped in reverse.
struct ServicesInOrder: Service {
    let services: [any Service]
    let logger: Logger

    func run() async throws {
        try await ServiceGroup(services: services, logger: logger).run()
    }
}
