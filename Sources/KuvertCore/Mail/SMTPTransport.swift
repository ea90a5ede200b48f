import CCurl
import Foundation

/// An SMTP session through libcurl.
///
/// One easy handle per session: libcurl keeps its connection open between
/// messages. After a transfer that did not deliver, the handle is replaced,
/// which closes its connections: the server may still be inside the failed
/// mail transaction, and reusing that connection would make the next message
/// fail with "503 nested MAIL command". Every call blocks, so a session
/// belongs on a thread of its own, never on an event loop.
public final class SMTPTransport: MailTransport {
    private var handle: UnsafeMutableRawPointer
    private let settings: SMTPSettings
    private let replies = ReplyLines()

    /// `curl_global_init`, once per process, before any handle exists.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// - Throws: `KuvertError.configuration` when libcurl cannot make a handle.
    public init(settings: SMTPSettings) throws {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else {
            throw KuvertError.configuration("libcurl could not create an SMTP session.")
        }
        self.handle = handle
        self.settings = settings
        configure()
    }

    /// Closes the session's connections by replacing its handle.
    private func replaceHandle() {
        guard let fresh = curl_easy_init() else { return }
        curl_easy_cleanup(handle)
        handle = fresh
        configure()
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    private func configure() {
        kuvert_curl_set_string(handle, CURLOPT_URL, settings.url)
        kuvert_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        kuvert_curl_set_long(handle, CURLOPT_UPLOAD, 1)
        kuvert_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeout * 1000))
        kuvert_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(settings.transferTimeout * 1000))
        kuvert_curl_set_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, Int(settings.transferTimeout))
        if settings.url.hasPrefix("smtp://") {
            let level = settings.requireTLS ? CURLUSESSL_ALL : CURLUSESSL_TRY
            kuvert_curl_set_long(handle, CURLOPT_USE_SSL, Int(level.rawValue))
        }
        if let username = settings.username { kuvert_curl_set_string(handle, CURLOPT_USERNAME, username) }
        if let password = settings.password { kuvert_curl_set_string(handle, CURLOPT_PASSWORD, password) }
        kuvert_curl_set_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<MessageReader>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
        }
        // libcurl hands every SMTP reply line to the header callback.
        kuvert_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: size * count), as: UTF8.self)
            Unmanaged<ReplyLines>.fromOpaque(context).takeUnretainedValue().append(line)
            return size * count
        }
        kuvert_curl_set_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(replies).toOpaque())
    }

    public func send(from: String, to: String, message: [UInt8]) -> SendOutcome {
        let reader = MessageReader(message)
        let recipients = curl_slist_append(nil, "<\(to)>")
        defer { curl_slist_free_all(recipients) }
        kuvert_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(from)>")
        kuvert_curl_set_list(handle, CURLOPT_MAIL_RCPT, recipients)
        kuvert_curl_set_long(handle, CURLOPT_INFILESIZE_LARGE, message.count)
        replies.reset()
        let code = withExtendedLifetime(reader) {
            kuvert_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(reader).toOpaque())
            return curl_easy_perform(handle)
        }
        kuvert_curl_set_pointer(handle, CURLOPT_READDATA, nil)
        kuvert_curl_set_list(handle, CURLOPT_MAIL_RCPT, nil)
        let result = outcome(of: code)
        if result.kind != .delivered { replaceHandle() }
        return result
    }

    /// Classifies a transfer: the CURLcode first (a timeout leaves a stale reply
    /// code), then the server's reply code.
    private func outcome(of code: CURLcode) -> SendOutcome {
        var responseCode = 0
        kuvert_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &responseCode)
        let replyLine = replies.line(for: responseCode)
        switch code {
        case CURLE_OK:
            return SendOutcome(code: responseCode, reply: replyLine ?? "\(responseCode)")
        case CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR,
             CURLE_GOT_NOTHING, CURLE_RECV_ERROR:
            return SendOutcome(kind: .transient, code: nil, reply: Self.describe(code))
        default:
            if responseCode >= 400 {
                return SendOutcome(code: responseCode, reply: replyLine ?? "\(responseCode)")
            }
            return SendOutcome(kind: .transient, code: nil, reply: Self.describe(code))
        }
    }

    private static func describe(_ code: CURLcode) -> String {
        "\(String(cString: curl_easy_strerror(code))) (curl \(code.rawValue))"
    }
}

/// Feeds a message to libcurl's read callback.
private final class MessageReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// The reply lines of the current transfer.
private final class ReplyLines {
    private var lines: [String] = []

    func append(_ line: String) {
        // Only the last few matter; a chatty server cannot grow this.
        if lines.count >= 16 { lines.removeFirst() }
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        let bytes = line.utf8.drop(while: isSpace)
        lines.append(String(decoding: bytes.prefix(bytes.count - bytes.reversed().prefix(while: isSpace).count), as: UTF8.self))
    }

    func reset() { lines.removeAll(keepingCapacity: true) }

    /// The last line with this reply code. After a refusal curl sends QUIT, so
    /// the very last line is usually "221 Bye" rather than the refusal.
    func line(for code: Int) -> String? {
        lines.last { $0.hasPrefix(String(code)) } ?? lines.last
    }
}
