import Foundation
import Hummingbird
import KuvertCore

/// `GET /healthz`: 200 when the store answers and takes writes, 503 when it
/// does not, so that a load balancer takes the node out meanwhile.
///
/// Writes are known to fail when a request failed on the store within the
/// last seconds (`StoreAvailability`); after that, a write of its own decides
/// whether the store takes writes again. A store that never failed is not
/// written to: `/healthz` stays one read.
struct HealthController: Sendable {
    let store: any StoreHealth
    let availability: StoreAvailability

    func register(on router: Router<KuvertRequestContext>) {
        router.get("healthz") { _, _ -> Response in
            let problem = await problem()
            return Response(
                status: problem == nil ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: problem.map { $0 + "\n" } ?? "ok\n"))
            )
        }
    }

    private func problem() async -> String? {
        guard await store.isHealthy() else { return "store unavailable" }
        if availability.isFailing() { return "store cannot write" }
        if availability.needsProbe {
            guard await store.canWrite() else { return "store cannot write" }
            availability.recovered()
        }
        return nil
    }
}
