import Hummingbird
import KuvertCore
import Logging
import Prometheus
import ServiceLifecycle

/// What the web layer needs, composed once by the executable (or a test).
public struct WebDependencies: Sendable {
    public var configuration: KuvertCore.Configuration
    public var store: any KuvertStore
    public var signer: TokenSigner
    public var renderer: TemplateRenderer
    /// Keys the hashes of erased addresses.
    public var suppression: SuppressionKey
    /// Called after a request queued mail, to wake a mailer in this process.
    public var mailQueued: @Sendable () -> Void
    /// Where this process's metrics are kept; `/metrics` shows it.
    public var registry: PrometheusCollectorRegistry
    public var metrics: KuvertMetrics { Self.metrics(registry) }

    public init(
        configuration: KuvertCore.Configuration, store: any KuvertStore, signer: TokenSigner, renderer: TemplateRenderer,
        suppression: SuppressionKey, mailQueued: @escaping @Sendable () -> Void = {},
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.configuration = configuration
        self.store = store
        self.signer = signer
        self.renderer = renderer
        self.suppression = suppression
        self.mailQueued = mailQueued
        self.registry = registry
    }

    /// Kuvert's metrics kept in `registry`, for the web layer and a mailer in the same process.
    public static func metrics(_ registry: PrometheusCollectorRegistry) -> KuvertMetrics {
        KuvertMetrics(factory: PrometheusMetricsFactory(registry: registry))
    }

    /// Every template the web pages need; check them at start.
    public static let requiredTemplates = Pages.templateNames
}

/// The router with every public route.
public func buildRouter(_ dependencies: WebDependencies) -> Router<KuvertRequestContext> {
    // HEAD answers as GET does, without the body: link checkers and mail
    // scanners send it first, and GET changes nothing anywhere.
    let router = Router(context: KuvertRequestContext.self, options: .autoGenerateHeadEndpoints)
    let configuration = dependencies.configuration
    let metrics = dependencies.metrics
    router.add(middleware: EarlyAnswerMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ClientAddressMiddleware(proxies: TrustedProxies(configuration.trustedProxies)))
    router.add(middleware: ErrorResponseMiddleware())
    let limits = RequestLimits(
        perClient: RateLimiter(configuration.clientRateLimit), perAddress: RateLimiter(configuration.addressRateLimit))
    let pages = Pages(renderer: dependencies.renderer)
    let mailQueued = DelayedWake(dependencies.mailQueued)
    SubscribeController(
        intake: SubscriptionIntake(store: dependencies.store, resendWindow: configuration.resendWindow),
        pages: pages, maximumBodyBytes: configuration.maxBodyBytes, mailQueued: mailQueued, limits: limits,
        renderTime: FormRenderTime(signer: dependencies.signer, minimum: configuration.formMinimumSeconds),
        metrics: metrics, answerFloor: AnswerFloor(seconds: configuration.answerFloor)
    ).register(on: router)
    ConfirmationController(
        confirmation: ConfirmationService(
            store: dependencies.store, signer: dependencies.signer, confirmTTL: configuration.confirmTTL),
        pages: pages, maximumBodyBytes: configuration.maxBodyBytes, metrics: metrics
    ).register(on: router)
    UnsubscribeController(
        unsubscribing: UnsubscribeService(store: dependencies.store, signer: dependencies.signer), pages: pages,
        maximumBodyBytes: configuration.maxBodyBytes,
        metrics: metrics
    ).register(on: router)
    PrivacyController(
        privacy: PrivacyService(store: dependencies.store, signer: dependencies.signer, suppression: dependencies.suppression),
        pages: pages,
        maximumBodyBytes: configuration.maxBodyBytes, resendWindow: configuration.resendWindow,
        mailQueued: mailQueued, limits: limits, answerFloor: AnswerFloor(seconds: configuration.answerFloor)
    ).register(on: router)
    HealthController(store: dependencies.store).register(on: router)
    // With a metrics listener of their own, metrics are served there only;
    // otherwise here, to loopback clients only.
    if configuration.metricsListen == nil {
        MetricsController(store: dependencies.store, registry: dependencies.registry, metrics: metrics, loopbackOnly: true)
            .register(on: router)
    }
    // Checked at start with the other templates, so this cannot fail here; an empty sheet if it ever did.
    ((try? StyleController(renderer: dependencies.renderer)) ?? StyleController(stylesheet: ByteBuffer())).register(on: router)
    router.answerOtherMethods()
    return router
}

/// The HTTP application listening on the configured address.
public func buildApplication(
    _ dependencies: WebDependencies, services: [any Service] = [], logger: Logger
) -> some ApplicationProtocol {
    let configuration = dependencies.configuration
    return Application(
        router: buildRouter(dependencies),
        // Idle connections are closed, so slow or silent clients do not pile up;
        // headers are capped well below NIO's defaults (no route needs more).
        server: .http1(configuration: .init(
            idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 100))),
        configuration: .init(
            address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: "Kuvert"),
        services: services,
        logger: logger)
}

/// For `kuvert worker --metrics-listen`: `/metrics` and `/healthz` only, running
/// `services` (the mailer) alongside.
public func buildMetricsApplication(
    store: any StoreHealth & OutboxStore, registry: PrometheusCollectorRegistry, host: String, port: Int,
    services: [any Service], logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: KuvertRequestContext.self, options: .autoGenerateHeadEndpoints)
    let metrics = WebDependencies.metrics(registry)
    router.add(middleware: EarlyAnswerMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorResponseMiddleware())
    HealthController(store: store).register(on: router)
    // A listener of its own is the operator's to place: anyone who reaches it may read.
    MetricsController(store: store, registry: registry, metrics: metrics, loopbackOnly: false).register(on: router)
    router.answerOtherMethods()
    return Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: "Kuvert"),
        services: services, logger: logger)
}
