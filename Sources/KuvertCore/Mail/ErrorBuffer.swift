import CCurl
import Foundation

/// libcurl's `CURLOPT_ERRORBUFFER`: its own words for the last failure, which
/// say more than `curl_easy_strerror` ("SSL certificate problem: self-signed
/// certificate" rather than "SSL peer certificate or SSH remote key was not OK").
final class ErrorBuffer {
    let pointer: UnsafeMutablePointer<CChar>

    init() {
        pointer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        pointer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit { pointer.deallocate() }

    func reset() { pointer[0] = 0 }

    /// The message, without its line break; nil when libcurl wrote none.
    var text: String? {
        let text = String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
