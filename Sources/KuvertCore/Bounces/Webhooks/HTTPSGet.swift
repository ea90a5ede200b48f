import CCurl
import Foundation

/// One `GET` over https through libcurl, for what a webhook asks Kuvert to
/// fetch (SES's signing certificate, its subscription confirmation): https
/// only, no redirects, at most `limit` bytes, ten seconds, on a thread of
/// `BlockingWork`'s.
public struct HTTPSGet: Sendable {
    /// A PEM file of CAs to trust instead of the system's.
    public var caFile: String?
    /// libcurl's `CURLOPT_CONNECT_TO` entries (`host:443:127.0.0.1:8443`):
    /// where a test's own server stands in for the real host, under the real
    /// host's name (TLS checks its certificate for that name).
    public var connectTo: [String]

    public init(caFile: String? = nil, connectTo: [String] = []) {
        self.caFile = caFile
        self.connectTo = connectTo
    }

    /// The body at `url`.
    /// - Throws: `HTTPSGet.Failure` with libcurl's words or the status.
    public func callAsFunction(_ url: String, limit: Int = 65_536) async throws -> [UInt8] {
        let (caFile, connectTo) = (caFile, connectTo)
        return try await BlockingWork.run("kuvert-https-get") { try Self.get(url, limit: limit, caFile: caFile, connectTo: connectTo) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The body read so far; libcurl's write callback appends to it.
    private final class Body {
        var bytes: [UInt8] = []
        let limit: Int
        init(limit: Int) { self.limit = limit }
    }

    private static func get(_ url: String, limit: Int, caFile: String?, connectTo: [String]) throws -> [UInt8] {
        _ = Curl.globalInit
        guard let handle = curl_easy_init() else { throw Failure(description: "libcurl could not create an HTTP session") }
        defer { curl_easy_cleanup(handle) }
        let errors = ErrorBuffer()
        let body = Body(limit: limit)
        var hosts: UnsafeMutablePointer<curl_slist>?
        for entry in connectTo { hosts = curl_slist_append(hosts, entry) }
        defer { curl_slist_free_all(hosts) }
        let consequence = "the webhook's request is refused"
        try Curl.check(kuvert_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.pointer), "CURLOPT_ERRORBUFFER", consequence)
        try Curl.set(handle, CURLOPT_URL, url, "the URL", consequence)
        try Curl.set(handle, CURLOPT_PROTOCOLS_STR, "https", "CURLOPT_PROTOCOLS_STR", consequence)
        try Curl.set(handle, CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL", consequence)
        try Curl.set(handle, CURLOPT_CONNECTTIMEOUT_MS, 5_000, "CURLOPT_CONNECTTIMEOUT_MS", consequence)
        try Curl.set(handle, CURLOPT_TIMEOUT_MS, 10_000, "CURLOPT_TIMEOUT_MS", consequence)
        if let caFile { try Curl.set(handle, CURLOPT_CAINFO, caFile, "the CA file", consequence) }
        if hosts != nil { try Curl.check(kuvert_curl_set_list(handle, CURLOPT_CONNECT_TO, hosts), "CURLOPT_CONNECT_TO", consequence) }
        try Curl.check(
            kuvert_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                let body = Unmanaged<Body>.fromOpaque(context).takeUnretainedValue()
                let length = size * count
                // Returning less than given makes libcurl stop with CURLE_WRITE_ERROR.
                guard body.bytes.count + length <= body.limit else { return 0 }
                body.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            },
            "CURLOPT_WRITEFUNCTION",
            consequence
        )
        try Curl.check(
            kuvert_curl_set_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(body).toOpaque()),
            "CURLOPT_WRITEDATA",
            consequence
        )
        let code = withExtendedLifetime(body) { curl_easy_perform(handle) }
        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR { throw Failure(description: "the answer is over \(limit) bytes") }
            throw Failure(description: errors.text ?? String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        _ = kuvert_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard status == 200 else { throw Failure(description: "HTTP \(status)") }
        return body.bytes
    }
}
