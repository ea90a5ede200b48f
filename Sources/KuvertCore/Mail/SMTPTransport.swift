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
    private let replies = ReplyLines(keep: 16)

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
        Self.connect(handle, with: settings)
        kuvert_curl_set_long(handle, CURLOPT_UPLOAD, 1)
        kuvert_curl_set_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<MessageReader>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
        }
        Self.collectReplies(handle, into: replies)
    }

    /// Where and how to connect: URL, timeouts, TLS, credentials.
    private static func connect(_ handle: UnsafeMutableRawPointer, with settings: SMTPSettings) {
        kuvert_curl_set_string(handle, CURLOPT_URL, settings.url)
        kuvert_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        kuvert_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeout * 1000))
        kuvert_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(settings.transferTimeout * 1000))
        kuvert_curl_set_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, Int(settings.transferTimeout))
        if settings.url.hasPrefix("smtp://") {
            let level = settings.requireTLS ? CURLUSESSL_ALL : CURLUSESSL_TRY
            kuvert_curl_set_long(handle, CURLOPT_USE_SSL, Int(level.rawValue))
        }
        if let username = settings.username { kuvert_curl_set_string(handle, CURLOPT_USERNAME, username) }
        if let password = settings.password { kuvert_curl_set_string(handle, CURLOPT_PASSWORD, password) }
    }

    /// libcurl hands every SMTP reply line to the header callback; `lines` keeps them.
    private static func collectReplies(_ handle: UnsafeMutableRawPointer, into lines: ReplyLines) {
        kuvert_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: size * count), as: UTF8.self)
            Unmanaged<ReplyLines>.fromOpaque(context).takeUnretainedValue().append(line)
            return size * count
        }
        kuvert_curl_set_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(lines).toOpaque())
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

    /// Connects, greets (EHLO), upgrades with STARTTLS and authenticates as a
    /// send would, then says `NOOP` and quits: no mail transaction is started.
    /// For `kuvert doctor`.
    public func probe() -> SMTPProbe {
        let transcript = ReplyLines(keep: 200)
        guard let probe = curl_easy_init() else {
            return SMTPProbe(error: "libcurl could not create an SMTP session.", replies: [])
        }
        defer { curl_easy_cleanup(probe) }
        Self.connect(probe, with: settings)
        kuvert_curl_set_string(probe, CURLOPT_CUSTOMREQUEST, "NOOP")
        Self.collectReplies(probe, into: transcript)
        // The NOOP's reply also comes as a body; it is in the transcript already.
        kuvert_curl_set_callback(probe, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
        let code = withExtendedLifetime(transcript) { curl_easy_perform(probe) }
        return SMTPProbe(error: code == CURLE_OK ? nil : Self.describe(code), replies: transcript.all)
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
    private let keep: Int

    init(keep: Int) { self.keep = keep }

    var all: [String] { lines }

    func append(_ line: String) {
        // Only the last few matter; a chatty server cannot grow this.
        if lines.count >= keep { lines.removeFirst() }
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

/// What `SMTPTransport.probe()` found: the server's replies, in order, and the
/// failure if the session did not get as far as `NOOP`.
public struct SMTPProbe: Sendable, Equatable {
    public var error: String?
    public var replies: [String]

    /// The greeting's text (the first 220 reply).
    public var greeting: String? { replies.first { $0.hasPrefix("220") } }

    /// The extensions of the last EHLO reply (`SIZE 35882577`, `STARTTLS`, ...).
    public var extensions: [String] {
        // An EHLO reply is a run of "250-" lines closed by one "250 " line.
        guard let last = replies.lastIndex(where: { $0.hasPrefix("250-") }), last + 1 < replies.count else { return [] }
        var start = last
        while start > 0, replies[start - 1].hasPrefix("250-") { start -= 1 }
        // The first line names the server, not an extension.
        return replies[(start + 1)...(last + 1)].map { String($0.dropFirst(4)) }.filter { !$0.isEmpty }
    }

    /// True when the session was upgraded with STARTTLS (a second 220 reply, to the STARTTLS command).
    public var usedSTARTTLS: Bool { replies.filter { $0.hasPrefix("220") }.count >= 2 }

    /// True when the server accepted the credentials (235).
    public var authenticated: Bool { replies.contains { $0.hasPrefix("235") } }
}
