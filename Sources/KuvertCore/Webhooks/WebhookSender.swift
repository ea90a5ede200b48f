import Foundation
import Logging
import ServiceLifecycle

/// Sends the webhook outbox: leases due events, renders each now (so an event
/// of a person erased meanwhile carries no address), signs it, POSTs it, and
/// records the answer. Anything but a `2xx` is tried again with the mailer's
/// backoff (`KUVERT_RETRY_BASE`, doubling, at most a day apart) for
/// `KUVERT_RETRY_LIMIT` attempts and at least `minimumAttempts`; a
/// subscription's later events wait for its earlier ones.
public struct WebhookSender: Service {
    let settings: WebhookSettings
    let store: any WebhookStore
    let mailer: MailerSettings
    let holder: LeaseHolder
    let metrics: KuvertMetrics
    let logger: Logger
    /// How long to wait when nothing is due.
    let idle: Duration

    /// Events claimed at once.
    static let batch = 20
    /// Attempts before an event is given up, whatever `KUVERT_RETRY_LIMIT`
    /// says: about four days with the default 30-second base, since a website
    /// may be down longer than a relay.
    public static let minimumAttempts = 16

    public init(
        settings: WebhookSettings,
        store: any WebhookStore,
        mailer: MailerSettings,
        holder: LeaseHolder,
        metrics: KuvertMetrics,
        logger: Logger,
        idle: Duration = .seconds(1)
    ) {
        self.settings = settings
        self.store = store
        self.mailer = mailer
        self.holder = holder
        self.metrics = metrics
        self.logger = logger
        self.idle = idle
    }

    public func run() async throws {
        let transport = try WebhookTransport(url: settings.url)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var sent = 0
            do {
                sent = try await pass(transport)
            } catch {
                logger.warning("webhooks: the store could not be reached", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            if sent == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: idle) }
            }
        }
    }

    /// One lease of due events, each sent and recorded; returns how many were leased.
    func pass(_ transport: WebhookTransport) async throws -> Int {
        let events = try await store.leaseDueWebhooks(limit: Self.batch, leaseFor: 120, holder: holder, now: Date())
        for event in events {
            let body = event.body()
            let signature = WebhookSignature.value(body: body, secret: settings.secret, time: Date())
            let outcome = await transport.post(body, signature: signature)
            let attempt = event.attempts + 1
            let retryAt =
                outcome.delivered || attempt >= max(mailer.retryLimit, Self.minimumAttempts)
                ? nil : Date().addingTimeInterval(mailer.retryDelay(afterAttempt: attempt))
            try await store.recordWebhook(id: event.id, delivered: outcome.delivered, reply: outcome.reply, retryAt: retryAt, now: Date())
            let result = outcome.delivered ? "sent" : retryAt == nil ? "failed" : "retry"
            metrics.webhook(event.kind, result: result)
            if !outcome.delivered {
                logger.warning(
                    "webhook not delivered",
                    metadata: ["event": "\(event.id)", "reply": "\(outcome.reply)", "result": "\(result)"]
                )
            }
        }
        return events.count
    }
}
