import Foundation
import Hummingbird
import KuvertCore
import Logging
import Prometheus

/// `GET /metrics`: everything counted since start, in Prometheus text format,
/// with the outbox gauges read from the store at each scrape.
///
/// Its counters move with what requests found (a repeated address, a privacy
/// request for a known one), so reading them over time could tell who is
/// subscribed: on the public listener only loopback clients may read them, as
/// resolved through the trusted proxies; everyone else gets `404`, as if there
/// were no such page. `KUVERT_METRICS_LISTEN` gives them a listener of their own.
struct MetricsController: Sendable {
    let store: any OutboxStore
    let registry: PrometheusCollectorRegistry
    let metrics: KuvertMetrics
    /// Answer only clients on this machine's loopback interface.
    let loopbackOnly: Bool

    func register(on router: Router<KuvertRequestContext>) {
        router.get("metrics") { _, context -> Response in
            if loopbackOnly && !Self.isLoopback(context.clientIP) {
                return JSONResponse.make(["error": "not_found", "message": "There is no such page."], status: .notFound)
            }
            do {
                let now = Date()
                metrics.outbox(try await store.outboxDepth(now: now), now: now)
            } catch {
                // The counters still help; the gauges keep their last values.
                context.logger.warning("outbox gauges not updated", metadata: ["error": "\(error)"])
            }
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes))
            )
        }
    }
}

extension MetricsController {
    /// 127.0.0.0/8 and ::1 (also as an IPv4-mapped address).
    static func isLoopback(_ address: String?) -> Bool {
        guard let address else { return false }
        let bare = address.hasPrefix("::ffff:") ? String(address.dropFirst(7)) : address
        return bare == "::1" || bare.hasPrefix("127.")
    }
}
