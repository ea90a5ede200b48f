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
    private let errors = ErrorBuffer()
    /// Why the session could not be set up again after a failed transfer; it then sends nothing.
    private var brokenBecause: String?

    /// - Throws: `KuvertError.configuration` when libcurl cannot make a handle
    ///   or refuses one of the settings (the session would not be what was configured).
    public init(settings: SMTPSettings) throws {
        _ = Curl.globalInit
        guard let handle = curl_easy_init() else {
            throw KuvertError.configuration("libcurl could not create an SMTP session.")
        }
        self.handle = handle
        self.settings = settings
        // Every property is set: if this throws, deinit runs and frees the handle.
        try configure()
    }

    /// Closes the session's connections by replacing its handle.
    private func replaceHandle() {
        guard let fresh = curl_easy_init() else {
            brokenBecause = "libcurl could not create an SMTP session."
            return
        }
        curl_easy_cleanup(handle)
        handle = fresh
        do {
            try configure()
        } catch {
            brokenBecause = "\(error)"
        }
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    private func configure() throws {
        try Self.connect(handle, with: settings, errors: errors)
        try Self.set(handle, CURLOPT_UPLOAD, 1, "CURLOPT_UPLOAD")
        try Self.check(
            kuvert_curl_set_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                return Unmanaged<MessageReader>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
            },
            "CURLOPT_READFUNCTION"
        )
        try Self.collectReplies(handle, into: replies)
    }

    /// Where and how to connect: URL, timeouts, TLS, trust, credentials. Every
    /// option is checked: a session libcurl would set up other than configured
    /// (TLS not enforced, another CA trusted) must not send.
    private static func connect(_ handle: UnsafeMutableRawPointer, with settings: SMTPSettings, errors: ErrorBuffer) throws {
        try check(kuvert_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.pointer), "CURLOPT_ERRORBUFFER")
        try set(handle, CURLOPT_URL, settings.url, "KUVERT_SMTP_URL")
        try set(handle, CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try set(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(settings.connectTimeout * 1000), "CURLOPT_CONNECTTIMEOUT_MS")
        try set(handle, CURLOPT_TIMEOUT_MS, Int(settings.transferTimeout * 1000), "CURLOPT_TIMEOUT_MS")
        try set(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, Int(settings.transferTimeout), "CURLOPT_SERVER_RESPONSE_TIMEOUT")
        if settings.url.hasPrefix("smtp://") {
            let level = settings.requireTLS ? CURLUSESSL_ALL : CURLUSESSL_TRY
            try set(handle, CURLOPT_USE_SSL, Int(level.rawValue), "KUVERT_SMTP_TLS")
        }
        if let path = settings.caFile { try set(handle, CURLOPT_CAINFO, path, "KUVERT_SMTP_CA_FILE") }
        if let key = settings.pinnedPublicKey { try set(handle, CURLOPT_PINNEDPUBLICKEY, key, "KUVERT_SMTP_PINNED_KEY") }
        if let username = settings.username { try set(handle, CURLOPT_USERNAME, username, "KUVERT_SMTP_USER") }
        if let password = settings.password { try set(handle, CURLOPT_PASSWORD, password, "KUVERT_SMTP_PASSWORD") }
    }

    private static let consequence = "no mail is sent until it is fixed"

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int, _ name: String) throws {
        try Curl.set(handle, option, value, name, consequence)
    }

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String, _ name: String) throws {
        try Curl.set(handle, option, value, name, consequence)
    }

    static func check(_ code: CURLcode, _ name: String) throws {
        try Curl.check(code, name, consequence)
    }

    /// libcurl hands every SMTP reply line to the header callback; `lines` keeps them.
    private static func collectReplies(_ handle: UnsafeMutableRawPointer, into lines: ReplyLines) throws {
        try check(
            kuvert_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: size * count), as: UTF8.self)
                Unmanaged<ReplyLines>.fromOpaque(context).takeUnretainedValue().append(line)
                return size * count
            },
            "CURLOPT_HEADERFUNCTION"
        )
        try check(kuvert_curl_set_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(lines).toOpaque()), "CURLOPT_HEADERDATA")
    }

    public func send(from: String, to: String, message: [UInt8], beforeEnd: () -> Void) -> SendOutcome {
        if let brokenBecause { return SendOutcome(kind: .transient, code: nil, reply: brokenBecause) }
        return withoutActuallyEscaping(beforeEnd) { beforeEnd in
            perform(from: from, to: to, message: message, reader: MessageReader(message, beforeEnd: beforeEnd))
        }
    }

    private func perform(from: String, to: String, message: [UInt8], reader: MessageReader) -> SendOutcome {
        let recipients = curl_slist_append(nil, "<\(to)>")
        defer { curl_slist_free_all(recipients) }
        replies.reset()
        errors.reset()
        let code: CURLcode
        do {
            try Self.set(handle, CURLOPT_MAIL_FROM, "<\(from)>", "CURLOPT_MAIL_FROM")
            try Self.check(kuvert_curl_set_list(handle, CURLOPT_MAIL_RCPT, recipients), "CURLOPT_MAIL_RCPT")
            try Self.set(handle, CURLOPT_INFILESIZE_LARGE, message.count, "CURLOPT_INFILESIZE_LARGE")
            code = try withExtendedLifetime(reader) {
                try Self.check(
                    kuvert_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(reader).toOpaque()),
                    "CURLOPT_READDATA"
                )
                return curl_easy_perform(handle)
            }
        } catch {
            // Nothing was sent: the message goes again once a fresh handle takes the options.
            replaceHandle()
            return SendOutcome(kind: .transient, code: nil, reply: "\(error)")
        }
        // Clearing these cannot fail: nil is always a valid value for them.
        kuvert_curl_set_pointer(handle, CURLOPT_READDATA, nil)
        kuvert_curl_set_list(handle, CURLOPT_MAIL_RCPT, nil)
        let result = outcome(of: code)
        if result.kind != .delivered { replaceHandle() }
        return result
    }

    /// Connects, greets (EHLO), upgrades with STARTTLS and authenticates as a
    /// send would, then says `NOOP` and quits: no mail transaction is started.
    /// For `kuvert doctor`.
    public func relayProblem() -> String? {
        probe().error
    }

    public func probe() -> SMTPProbe {
        let transcript = ReplyLines(keep: 200)
        guard let probe = curl_easy_init() else {
            return SMTPProbe(error: "libcurl could not create an SMTP session.", replies: [])
        }
        defer { curl_easy_cleanup(probe) }
        let errors = ErrorBuffer()
        do {
            try Self.connect(probe, with: settings, errors: errors)
            try Self.set(probe, CURLOPT_CUSTOMREQUEST, "NOOP", "CURLOPT_CUSTOMREQUEST")
            try Self.collectReplies(probe, into: transcript)
            // The NOOP's reply also comes as a body; it is in the transcript already.
            try Self.check(kuvert_curl_set_callback(probe, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }, "CURLOPT_WRITEFUNCTION")
        } catch {
            return SMTPProbe(error: "\(error)", replies: [])
        }
        let code = withExtendedLifetime(transcript) { curl_easy_perform(probe) }
        var responseCode = 0
        kuvert_curl_get_long(probe, CURLINFO_RESPONSE_CODE, &responseCode)
        return SMTPProbe(
            error: code == CURLE_OK ? nil : Self.describe(code, errors: errors, reply: transcript.line(for: responseCode)),
            replies: transcript.all
        )
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
        case CURLE_LOGIN_DENIED where responseCode >= 500:
            // 535 and the like: SendOutcome keeps them transient (the sender's fault).
            return SendOutcome(code: responseCode, reply: Self.describe(code, errors: errors, reply: replyLine))
        case CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR,
            CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_USE_SSL_FAILED, CURLE_PEER_FAILED_VERIFICATION,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CACERT_BADFILE, CURLE_LOGIN_DENIED:
            return SendOutcome(kind: .transient, code: nil, reply: Self.describe(code, errors: errors, reply: nil))
        default:
            if responseCode >= 400 {
                return SendOutcome(code: responseCode, reply: replyLine ?? "\(responseCode)")
            }
            return SendOutcome(kind: .transient, code: nil, reply: Self.describe(code, errors: errors, reply: nil))
        }
    }

    /// What went wrong, in words an operator can act on: libcurl's own account
    /// (its error buffer: "SSL certificate problem: self-signed certificate")
    /// with a hint where there is one; the server's reply only when it is the cause.
    static func describe(_ code: CURLcode, errors: ErrorBuffer, reply: String?) -> String {
        let detail = errors.text ?? String(cString: curl_easy_strerror(code))
        let what: String
        switch code {
        case CURLE_USE_SSL_FAILED:
            what = "the relay offers no STARTTLS, and TLS is required (KUVERT_SMTP_TLS=require, the default with credentials)"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            what = "\(detail): the relay's certificate is not trusted (a private CA? set KUVERT_SMTP_CA_FILE)"
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            what = "\(detail): the relay's key is not the one in KUVERT_SMTP_PINNED_KEY"
        case CURLE_LOGIN_DENIED:
            what = "the relay refused the credentials (KUVERT_SMTP_USER, KUVERT_SMTP_PASSWORD)" + (reply.map { ": \($0)" } ?? "")
        default:
            what = detail + (reply.map { "; the server said: \($0)" } ?? "")
        }
        return "\(what) (curl \(code.rawValue))"
    }
}

/// Feeds a message to libcurl's read callback, running `beforeEnd` before it
/// hands over the chunk that holds the last byte (libcurl knows the size, so
/// it ends the data as soon as it has every byte, without asking again).
private final class MessageReader {
    private let bytes: [UInt8]
    private var offset = 0
    private var beforeEnd: (() -> Void)?

    init(_ bytes: [UInt8], beforeEnd: @escaping () -> Void) {
        self.bytes = bytes
        self.beforeEnd = beforeEnd
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, bytes.count - offset)
        guard count > 0 else { return 0 }
        if offset + count == bytes.count, let beforeEnd {
            self.beforeEnd = nil
            beforeEnd()
        }
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
