import Hummingbird
import KuvertCore

/// `GET /healthz`: 200 when the store answers, 503 when it does not.
struct HealthController: Sendable {
    let store: any StoreHealth

    func register(on router: Router<KuvertRequestContext>) {
        router.get("healthz") { _, _ -> Response in
            let healthy = await store.isHealthy()
            return Response(
                status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "store unavailable\n")))
        }
    }
}
