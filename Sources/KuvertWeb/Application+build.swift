import Foundation
import Hummingbird
import KuvertCore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// What the web layer needs, composed once by the executable (or a test).
public struct WebDependencies: Sendable {
    /// The listeners and what they accept.
    public var http: HTTPSettings
    /// Rate limits, trusted proxies, the answer floor, the form's minimum time.
    public var security: SecuritySettings
    /// The confirmation window and the resend window.
    public var subscriptions: SubscriptionSettings
    public var store: any KuvertStore
    /// The signer of links and the key of erased addresses' hashes.
    public var keys: KeyRing
    public var renderer: TemplateRenderer
    /// The API's OpenAPI document, served at `/api/v1/openapi.json`.
    public var apiDocument: APIDocument
    /// Called after a request queued mail, to wake a mailer in this process.
    public var mailQueued: @Sendable () -> Void
    /// Where this process's metrics are kept; `/metrics` shows it.
    public var registry: PrometheusCollectorRegistry
    public var metrics: KuvertMetrics { Self.metrics(registry) }
    /// What this process has seen of the store's failures (`/healthz`, the log).
    public var availability: StoreAvailability
    /// Times on pages, in `KUVERT_TIME_ZONE`.
    public var time: HumanTime
    /// What takes the sending services' bounce webhooks; nil when none is configured.
    public var bounceWebhooks: BounceWebhooks?

    /// The web layer's part of `settings`: no SMTP credentials, no mailer settings
    /// but the bounce limit, which bounce webhooks apply.
    /// - Parameter httpsGet: how SES's certificates are fetched (tests: their own host and CA).
    /// - Throws: `KuvertError.configuration` when the templates directory has no API document.
    public init(
        settings: Settings,
        store: any KuvertStore,
        keys: KeyRing,
        renderer: TemplateRenderer,
        mailQueued: @escaping @Sendable () -> Void = {},
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        availability: StoreAvailability = StoreAvailability(logger: Logger(label: "kuvert.store")),
        httpsGet: HTTPSGet = HTTPSGet(),
        logger: Logger = Logger(label: "kuvert.bounces")
    ) throws {
        self.http = settings.http
        self.security = settings.security
        self.subscriptions = settings.subscriptions
        self.store = store
        self.keys = keys
        self.renderer = renderer
        self.apiDocument = try APIDocument(templatesDirectory: settings.storage.templatesDirectory)
        self.mailQueued = mailQueued
        self.registry = registry
        self.availability = availability
        self.time = settings.mail.humanTime
        self.bounceWebhooks =
            settings.bounceWebhooks.values.isEmpty
            ? nil
            : BounceWebhooks(
                readers: try settings.bounceWebhooks.readers(get: httpsGet),
                tags: keys.messageTags,
                store: store,
                bounceLimit: settings.mailer.bounceLimit,
                metrics: Self.metrics(registry),
                logger: logger
            )
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
    let (http, security, subscriptions) = (dependencies.http, dependencies.security, dependencies.subscriptions)
    let signer = dependencies.keys.signer
    let metrics = dependencies.metrics
    router.add(middleware: EarlyAnswerMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: SecurityHeadersMiddleware(frameAncestors: security.frameAncestors))
    router.add(middleware: ClientAddressMiddleware(proxies: TrustedProxies(security.trustedProxies)))
    let pages = Pages(renderer: dependencies.renderer, time: dependencies.time)
    router.add(middleware: ErrorResponseMiddleware(store: dependencies.store, availability: dependencies.availability, pages: pages))
    let limits = RequestLimits(
        perClient: RateLimiter(security.clientRateLimit),
        perAddress: RateLimiter(security.addressRateLimit),
        perToken: RateLimiter(security.apiRateLimit),
        ipv6PrefixLength: security.ipv6PrefixLength,
        shared: dependencies.store.sharedRateLimits.map { ($0, dependencies.keys.suppression) }
    )
    let mailQueued = DelayedWake(dependencies.mailQueued)
    SubscribeController(
        intake: SubscriptionIntake(store: dependencies.store, resendWindow: subscriptions.resendWindow),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        mailQueued: mailQueued,
        limits: limits,
        renderTime: FormRenderTime(signer: signer, minimum: security.formMinimumSeconds),
        metrics: metrics,
        answerFloor: AnswerFloor(seconds: security.answerFloor),
        lists: dependencies.store
    ).register(on: router)
    ConfirmationController(
        confirmation: ConfirmationService(
            store: dependencies.store,
            signer: signer,
            confirmTTL: subscriptions.confirmTTL
        ),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        metrics: metrics,
        mailQueued: mailQueued
    ).register(on: router)
    UnsubscribeController(
        unsubscribing: UnsubscribeService(store: dependencies.store, signer: signer),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        metrics: metrics
    ).register(on: router)
    PrivacyController(
        privacy: PrivacyService(store: dependencies.store, signer: signer, suppression: dependencies.keys.suppression),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        resendWindow: subscriptions.resendWindow,
        mailQueued: mailQueued,
        limits: limits,
        answerFloor: AnswerFloor(seconds: security.answerFloor)
    ).register(on: router)
    ManageController(
        manage: ManageService(store: dependencies.store, signer: signer),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        limits: limits,
        mailQueued: mailQueued
    ).register(on: router)
    TermsController(store: dependencies.store, pages: pages).register(on: router)
    AddressController(
        addresses: AddressChangeService(store: dependencies.store, signer: signer, lifetime: subscriptions.confirmTTL),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes,
        mailQueued: mailQueued
    ).register(on: router)
    ReconsentController(
        reconsent: ReconsentService(store: dependencies.store, signer: signer),
        pages: pages,
        maximumBodyBytes: http.maxBodyBytes
    ).register(on: router)
    BounceWebhookController(webhooks: dependencies.bounceWebhooks).register(on: router)
    HealthController(store: dependencies.store, availability: dependencies.availability).register(on: router)
    APIController(
        store: dependencies.store,
        intake: SubscriptionIntake(store: dependencies.store, resendWindow: subscriptions.resendWindow),
        importer: CSVImport(
            store: dependencies.store,
            suppression: dependencies.keys.suppression,
            resendWindow: subscriptions.resendWindow,
            rate: CSVImport.defaultRate
        ),
        suppression: dependencies.keys.suppression,
        limits: limits,
        document: dependencies.apiDocument,
        maximumBodyBytes: http.maxBodyBytes,
        mailQueued: mailQueued
    ).register(on: router)
    // With a metrics listener of their own, metrics are served there only;
    // otherwise here, to loopback clients only.
    if http.metricsListen == nil {
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
    _ dependencies: WebDependencies,
    services: [any Service] = [],
    logger: Logger
) -> some ApplicationProtocol {
    let http = dependencies.http
    let gate = ConnectionGate(
        perClient: http.maxConnectionsPerClient,
        ipv6PrefixLength: dependencies.security.ipv6PrefixLength,
        proxies: TrustedProxies(dependencies.security.trustedProxies),
        logger: logger
    )
    return Application(
        router: buildRouter(dependencies),
        // Slow or silent clients do not pile up: idle connections are closed, a
        // request head has a deadline, one client holds a bounded share of the
        // connections and all of them a bounded number of descriptors. Headers
        // are capped well below NIO's defaults (no route needs more).
        server: .guardedHTTP1(
            gate: gate,
            headerTimeout: .interval(http.headerTimeout),
            configuration: .init(
                idleTimeout: .interval(http.idleTimeout),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 100)
            )
        ),
        configuration: .init(
            address: .hostname(http.listenHost, port: http.listenPort),
            serverName: "Kuvert",
            availableConnectionsDelegate: .maximum(http.maxConnections ?? DescriptorLimit.defaultConnections(), logger: logger)
        ),
        services: services,
        logger: logger
    )
}

extension TimeAmount {
    static func interval(_ interval: TimeInterval) -> TimeAmount { .milliseconds(Int64(interval * 1000)) }
}

/// For `kuvert worker --metrics-listen`: `/metrics` and `/healthz` only, running
/// `services` (the mailer) alongside.
public func buildMetricsApplication(
    store: any StoreHealth & OutboxStore,
    registry: PrometheusCollectorRegistry,
    host: String,
    port: Int,
    services: [any Service],
    logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: KuvertRequestContext.self, options: .autoGenerateHeadEndpoints)
    let metrics = WebDependencies.metrics(registry)
    router.add(middleware: EarlyAnswerMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    let availability = StoreAvailability(logger: logger)
    router.add(middleware: ErrorResponseMiddleware(store: store, availability: availability, pages: nil))
    HealthController(store: store, availability: availability).register(on: router)
    // A listener of its own is the operator's to place: anyone who reaches it may read.
    MetricsController(store: store, registry: registry, metrics: metrics, loopbackOnly: false).register(on: router)
    router.answerOtherMethods()
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "Kuvert"),
        services: services,
        logger: logger
    )
}
