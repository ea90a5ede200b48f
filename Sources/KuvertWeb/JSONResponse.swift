import Foundation
import Hummingbird

/// Small JSON answers: `{"status": ...}` and `{"error": ..., "message": ...}`.
enum JSONResponse {
    static func make(_ object: [String: String], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// `202 {"status":"pending"}`, the intake's answer to every valid request.
    static func pending() -> Response {
        Response(
            status: .accepted,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: pendingBody)
        )
    }

    private static let pendingBody = ByteBuffer(string: #"{"status":"pending"}"#)

    static func error(_ error: WebError) -> Response {
        make(["error": error.code, "message": error.message], status: error.status)
    }
}
