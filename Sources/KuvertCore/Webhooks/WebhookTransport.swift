import CCurl
import Foundation
import Synchronization

/// POSTs webhook bodies through libcurl, one reused handle (so a receiver's
/// connection is kept between events), one POST at a time, on a thread of
/// `BlockingWork`'s: libcurl blocks, and must not on the cooperative pool.
// @unchecked: the handle and the error buffer are touched only under `inUse`
// (and in init and deinit, when nothing else holds the transport).
final class WebhookTransport: @unchecked Sendable {
    /// What became of one POST: the receiver's HTTP status, or why there was none.
    enum Outcome: Equatable {
        case status(Int)
        case failed(String)

        var delivered: Bool {
            if case .status(let code) = self { return (200..<300).contains(code) }
            return false
        }

        /// For the outbox row and `kuvert queue`: `HTTP 503` or libcurl's words.
        var reply: String {
            switch self {
            case .status(let code): "HTTP \(code)"
            case .failed(let message): message
            }
        }
    }

    private let handle: UnsafeMutableRawPointer
    private let errors = ErrorBuffer()
    private let url: String
    /// One POST at a time on the handle (a Mutex: held on a thread of its own, never in a task).
    private let inUse = Mutex(())

    /// - Throws: `KuvertError.configuration` when libcurl refuses a setting.
    init(url: String) throws {
        _ = Curl.globalInit
        guard let handle = curl_easy_init() else { throw KuvertError.configuration("libcurl could not create an HTTP session.") }
        self.handle = handle
        self.url = url
        let consequence = "no webhook is sent until it is fixed"
        try Curl.check(kuvert_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.pointer), "CURLOPT_ERRORBUFFER", consequence)
        try Curl.set(handle, CURLOPT_URL, url, "KUVERT_WEBHOOK_URL", consequence)
        try Curl.set(handle, CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR", consequence)
        try Curl.set(handle, CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL", consequence)
        try Curl.set(handle, CURLOPT_CONNECTTIMEOUT_MS, 10_000, "CURLOPT_CONNECTTIMEOUT_MS", consequence)
        try Curl.set(handle, CURLOPT_TIMEOUT_MS, 30_000, "CURLOPT_TIMEOUT_MS", consequence)
        try Curl.set(handle, CURLOPT_POST, 1, "CURLOPT_POST", consequence)
        // The receiver's answer is not read: its status says all.
        try Curl.check(
            kuvert_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count },
            "CURLOPT_WRITEFUNCTION",
            consequence
        )
    }

    deinit { curl_easy_cleanup(handle) }

    /// POSTs `body` as JSON with `Kuvert-Signature: signature`.
    func post(_ body: Data, signature: String) async -> Outcome {
        await BlockingWork.run("kuvert-webhook") {
            self.inUse.withLock { _ in self.postBlocking(body, signature: signature) }
        }
    }

    private func postBlocking(_ body: Data, signature: String) -> Outcome {
        errors.reset()
        var headers: UnsafeMutablePointer<curl_slist>?
        for header in ["Content-Type: application/json", "\(WebhookSignature.header): \(signature)", "User-Agent: Kuvert", "Expect:"] {
            headers = curl_slist_append(headers, header)
        }
        defer { curl_slist_free_all(headers) }
        guard kuvert_curl_set_list(handle, CURLOPT_HTTPHEADER, headers) == CURLE_OK,
            kuvert_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, body.count) == CURLE_OK,
            body.withUnsafeBytes({ kuvert_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) })
                == CURLE_OK
        else { return .failed("libcurl refused the request's body or headers") }
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else { return .failed(errors.text ?? String(cString: curl_easy_strerror(code))) }
        var status = 0
        _ = kuvert_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .status(status)
    }
}
