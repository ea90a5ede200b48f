import Foundation
import Hummingbird
import KuvertCore

/// The API's OpenAPI 3.1 document, `api/openapi.json` in the templates
/// directory, served as it is at `GET /api/v1/openapi.json`.
public struct APIDocument: Sendable {
    /// Where the document sits below the templates directory.
    public static let path = "api/openapi.json"

    let bytes: ByteBuffer

    /// Reads and checks the document of the templates directory `directory`.
    /// - Throws: `KuvertError.configuration` when it is missing or no OpenAPI 3.1 JSON document.
    public init(templatesDirectory directory: String) throws {
        let file = URL(fileURLWithPath: directory).appendingPathComponent(Self.path)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw KuvertError.configuration("The API document \(file.path) is missing (set KUVERT_TEMPLATES).")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let version = object["openapi"] as? String, version.hasPrefix("3.1")
        else {
            throw KuvertError.configuration("The API document \(file.path) is no OpenAPI 3.1 JSON document.")
        }
        bytes = ByteBuffer(bytes: data)
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: bytes)
        )
    }
}
