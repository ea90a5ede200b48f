import Hummingbird
import KuvertCore
import Logging
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

    public init(
        configuration: KuvertCore.Configuration, store: any KuvertStore, signer: TokenSigner, renderer: TemplateRenderer,
        suppression: SuppressionKey, mailQueued: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.store = store
        self.signer = signer
        self.renderer = renderer
        self.suppression = suppression
        self.mailQueued = mailQueued
    }

    /// Every template the web pages need; check them at start.
    public static let requiredTemplates = Pages.templateNames
}

/// The router with every public route.
public func buildRouter(_ dependencies: WebDependencies) -> Router<KuvertRequestContext> {
    let router = Router(context: KuvertRequestContext.self)
    let configuration = dependencies.configuration
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ClientAddressMiddleware(proxies: TrustedProxies(configuration.trustedProxies)))
    let limits = RequestLimits(
        perClient: RateLimiter(configuration.clientRateLimit), perAddress: RateLimiter(configuration.addressRateLimit))
    let pages = Pages(renderer: dependencies.renderer)
    SubscribeController(
        intake: SubscriptionIntake(store: dependencies.store, resendWindow: configuration.resendWindow),
        pages: pages, maximumBodyBytes: configuration.maxBodyBytes, mailQueued: dependencies.mailQueued, limits: limits,
        renderTime: FormRenderTime(signer: dependencies.signer, minimum: configuration.formMinimumSeconds)
    ).register(on: router)
    ConfirmationController(
        confirmation: ConfirmationService(
            store: dependencies.store, signer: dependencies.signer, confirmTTL: configuration.confirmTTL),
        pages: pages, maximumBodyBytes: configuration.maxBodyBytes
    ).register(on: router)
    UnsubscribeController(
        store: dependencies.store, signer: dependencies.signer, pages: pages, maximumBodyBytes: configuration.maxBodyBytes
    ).register(on: router)
    PrivacyController(
        store: dependencies.store, signer: dependencies.signer, suppression: dependencies.suppression, pages: pages,
        maximumBodyBytes: configuration.maxBodyBytes, resendWindow: configuration.resendWindow,
        mailQueued: dependencies.mailQueued, limits: limits
    ).register(on: router)
    HealthController(store: dependencies.store).register(on: router)
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
