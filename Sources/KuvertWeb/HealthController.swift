import Hummingbird
import KuvertCore

/// `GET /healthz`: 200 when the store answers, 503 when it does not.
struct HealthController: Sendable {
    let store: any KuvertStore

    func register(on router: Router<KuvertRequestContext>) {
        router.get("healthz") { _, _ -> Response in
            let healthy = await store.isHealthy()
            return Response(
                status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "store unavailable\n")))
        }
    }
}

/// `GET /style.css`: the one stylesheet of every page, rendered once at start.
struct StyleController: Sendable {
    let stylesheet: ByteBuffer

    init(stylesheet: ByteBuffer) {
        self.stylesheet = stylesheet
    }

    init(renderer: TemplateRenderer) throws {
        stylesheet = ByteBuffer(string: try renderer.render([String: String](), template: "web.style"))
    }

    func register(on router: Router<KuvertRequestContext>) {
        let stylesheet = self.stylesheet
        router.get("style.css") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: stylesheet))
        }
    }
}
