import CoreMetrics
import Foundation

/// What Kuvert counts, named for Prometheus and reported through swift-metrics.
///
/// The factory is passed in rather than bootstrapped globally, so the server,
/// the worker and every test have registries of their own. The default reports
/// nowhere. No label ever carries an address, a name or a token.
public struct KuvertMetrics: Sendable {
    private let factory: any MetricsFactory
    /// The mailer's counters, made once: a message counts three times, and
    /// finding a metric by name and labels costs a lookup under a lock each.
    private let deliveries: DeliveryMetrics

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.deliveries = DeliveryMetrics(factory: factory)
    }

    /// What became of one delivery attempt, as `kuvert_messages_total` labels it.
    enum DeliveryResult: String, CaseIterable, Sendable {
        case sent, retried, failed, skipped
    }

    private struct DeliveryMetrics: Sendable {
        let messages: [OutboxMessage.Kind: [DeliveryResult: Counter]]
        let replies: [String: Counter]
        let sendTime: CoreMetrics.Timer

        init(factory: any MetricsFactory) {
            messages = Dictionary(
                uniqueKeysWithValues: OutboxMessage.Kind.allCases.map { kind in
                    (
                        kind,
                        Dictionary(
                            uniqueKeysWithValues: DeliveryResult.allCases.map { result in
                                (
                                    result,
                                    Counter(
                                        label: "kuvert_messages_total",
                                        dimensions: [("kind", kind.rawValue), ("result", result.rawValue)],
                                        factory: factory
                                    )
                                )
                            }
                        )
                    )
                }
            )
            replies = Dictionary(
                uniqueKeysWithValues: ["2xx", "3xx", "4xx", "5xx", "none"].map { replyClass in
                    (replyClass, Counter(label: "kuvert_smtp_replies_total", dimensions: [("class", replyClass)], factory: factory))
                }
            )
            sendTime = Timer(label: "kuvert_smtp_send_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        }
    }

    /// Metrics that go nowhere, for commands that do not report.
    public static let none = KuvertMetrics(factory: NOOPMetricsHandler.instance)

    /// How an intake request ended: `confirmation_queued`, `already_pending`,
    /// `already_active`, `ignored` (honeypot or posted too fast), `invalid`, `rate_limited`.
    public func subscription(_ outcome: String) {
        counter("kuvert_subscriptions_total", ("outcome", outcome)).increment()
    }

    /// A subscription became active.
    public func confirmed() {
        counter("kuvert_confirmations_total").increment()
    }

    /// A subscription ended at the person's request; `source` is `one-click` or `unsubscribe-page`.
    public func unsubscribed(source: String) {
        counter("kuvert_unsubscribes_total", ("source", source)).increment()
    }

    /// One message reached a bounce address; `kind` is `BounceKind`'s name.
    public func bounce(kind: BounceKind) {
        counter("kuvert_bounces_total", ("kind", kind.rawValue)).increment()
    }

    /// What became of one webhook POST: `sent`, `retry` or `failed` (given up).
    func webhook(_ event: WebhookEvent.Kind, result: String) {
        counter("kuvert_webhooks_total", ("event", event.rawValue), ("result", result)).increment()
    }

    /// What became of one delivery attempt, with the SMTP reply's class and how long the send took.
    func delivery(kind: OutboxMessage.Kind, result: DeliveryResult, reply: SendOutcome?, duration: Duration?) {
        deliveries.messages[kind]?[result]?.increment()
        if let reply {
            let replyClass = reply.code.map { "\($0 / 100)xx" } ?? "none"
            (deliveries.replies[replyClass]
                ?? counter("kuvert_smtp_replies_total", ("class", replyClass))).increment()
        }
        if let duration {
            let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            deliveries.sendTime.recordNanoseconds(nanoseconds)
        }
    }

    /// The outbox as last looked at: messages waiting by state, and how long the
    /// oldest due message has waited (0 when none is due).
    public func outbox(_ depth: OutboxDepth, now: Date) {
        gauge("kuvert_outbox_messages", ("state", "due")).record(depth.due)
        gauge("kuvert_outbox_messages", ("state", "scheduled")).record(depth.scheduled)
        gauge("kuvert_outbox_messages", ("state", "leased")).record(depth.leased)
        gauge("kuvert_outbox_oldest_due_seconds").record(depth.oldestDueAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }

    /// One answered HTTP request, by matched route (never the raw path, which holds tokens).
    /// `kuvert_relay_up`: 1 while the SMTP relay can be reached, 0 while a mailer finds it cannot.
    func relay(up: Bool) {
        gauge("kuvert_relay_up").record(up ? 1 : 0)
    }

    public func httpRequest(route: String, method: String, status: Int) {
        counter("kuvert_http_requests_total", ("route", route), ("method", method), ("status", String(status))).increment()
    }

    private func counter(_ label: String, _ dimensions: (String, String)...) -> Counter {
        Counter(label: label, dimensions: dimensions, factory: factory)
    }

    private func gauge(_ label: String, _ dimensions: (String, String)...) -> Gauge {
        Gauge(label: label, dimensions: dimensions, factory: factory)
    }
}

/// Messages not yet sent, for the outbox gauges.
public struct OutboxDepth: Sendable, Equatable {
    public var due: Int
    public var scheduled: Int
    public var leased: Int
    /// When the longest-waiting due message came due; nil when none is due.
    public var oldestDueAt: Date?

    public init(due: Int, scheduled: Int, leased: Int, oldestDueAt: Date?) {
        self.due = due
        self.scheduled = scheduled
        self.leased = leased
        self.oldestDueAt = oldestDueAt
    }
}
