import Hummingbird
import KuvertCore

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
                body: .init(byteBuffer: stylesheet)
            )
        }
    }
}
