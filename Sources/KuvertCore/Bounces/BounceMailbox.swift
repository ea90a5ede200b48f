import CCurl
import Foundation

/// `KUVERT_BOUNCE_MAILBOX`: a hosted mailbox that receives the bounce domain's
/// mail, for operators who cannot run LMTP. `imaps://USER:PASSWORD@HOST/INBOX`
/// (TLS from the start), or `imap://` with STARTTLS required; plain `imap://`
/// only to this machine's loopback.
public struct BounceMailboxSettings: Sendable, Equatable {
    /// The mailbox's URL without its credentials: `imaps://host:port/INBOX`.
    public var url: String
    public var username: String
    public var password: String
    /// `imap://` to a remote host: STARTTLS must succeed before the password goes out.
    public var requireTLS: Bool
    /// How often the mailbox is read.
    public var interval: TimeInterval

    public init(url: String, username: String, password: String, requireTLS: Bool, interval: TimeInterval = 60) {
        self.url = url
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
        self.interval = interval
    }

    /// Reads `KUVERT_BOUNCE_MAILBOX`; the password is never shown in an error.
    public init(_ text: String) throws {
        let problem = KuvertError.configuration(
            "KUVERT_BOUNCE_MAILBOX must be imaps://USER:PASSWORD@HOST/MAILBOX, such as imaps://bounces:secret@imap.example.se/INBOX."
        )
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["imap", "imaps"].contains(scheme), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty, let password = components.password,
            components.query == nil, components.fragment == nil
        else { throw problem }
        // libcurl reads ";UID=" and the like in the path: a mailbox name never has one here.
        guard !components.path.contains(";") else { throw problem }
        var bare = URLComponents()
        bare.scheme = scheme
        bare.host = host
        bare.port = components.port
        bare.percentEncodedPath = ["", "/"].contains(components.percentEncodedPath) ? "/INBOX" : components.percentEncodedPath
        guard let url = bare.string else { throw problem }
        self.init(
            url: url,
            username: user,
            password: password,
            requireTLS: scheme == "imap" && !SettingSource.isLoopback(host)
        )
    }
}

/// One IMAP session through libcurl (one login, kept between calls): list the
/// messages by UID, fetch one, delete some. Every call blocks: use it on a
/// thread of its own, one thread at a time.
final class IMAPSession: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    private let settings: BounceMailboxSettings
    private let errors = ErrorBuffer()
    private let body = ResponseBody()

    init(settings: BounceMailboxSettings) throws {
        _ = Curl.globalInit
        guard let handle = curl_easy_init() else {
            throw KuvertError.configuration("libcurl could not create an IMAP session.")
        }
        self.handle = handle
        self.settings = settings
        try Self.check(kuvert_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.pointer), "CURLOPT_ERRORBUFFER")
        try Self.set(handle, CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")
        try Self.set(handle, CURLOPT_CONNECTTIMEOUT_MS, 10_000, "CURLOPT_CONNECTTIMEOUT_MS")
        try Self.set(handle, CURLOPT_TIMEOUT_MS, 120_000, "CURLOPT_TIMEOUT_MS")
        if settings.requireTLS {
            try Self.set(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue), "KUVERT_BOUNCE_MAILBOX")
        }
        try Self.set(handle, CURLOPT_USERNAME, settings.username, "KUVERT_BOUNCE_MAILBOX")
        try Self.set(handle, CURLOPT_PASSWORD, settings.password, "KUVERT_BOUNCE_MAILBOX")
        try Self.check(
            kuvert_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
                guard let buffer, let context else { return 0 }
                let body = Unmanaged<ResponseBody>.fromOpaque(context).takeUnretainedValue()
                return body.append(UnsafeRawBufferPointer(start: buffer, count: size * count)) ? size * count : 0
            },
            "CURLOPT_WRITEFUNCTION"
        )
        try Self.check(
            kuvert_curl_set_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(body).toOpaque()),
            "CURLOPT_WRITEDATA"
        )
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    private static let consequence = "no bounce mailbox is read until it is fixed"

    private static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int, _ name: String) throws {
        try Curl.set(handle, option, value, name, consequence)
    }

    private static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String, _ name: String) throws {
        try Curl.set(handle, option, value, name, consequence)
    }

    private static func check(_ code: CURLcode, _ name: String) throws {
        try Curl.check(code, name, consequence)
    }

    /// The UIDs of every message in the mailbox, oldest first.
    func uids() throws -> [Int] {
        let response = String(decoding: try perform(url: settings.url, command: "UID SEARCH ALL"), as: UTF8.self)
        return response.split(whereSeparator: \.isNewline)
            .filter { $0.hasPrefix("* SEARCH") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { Int($0) } }
    }

    /// One message, as stored.
    func fetch(uid: Int) throws -> [UInt8] {
        try perform(url: settings.url + ";UID=\(uid)", command: nil)
    }

    /// Marks these messages deleted and expunges them.
    func delete(uids: [Int]) throws {
        guard !uids.isEmpty else { return }
        for uid in uids {
            _ = try perform(url: settings.url, command: "UID STORE \(uid) +FLAGS (\\Deleted)")
        }
        _ = try perform(url: settings.url, command: "EXPUNGE")
    }

    private func perform(url: String, command: String?) throws -> [UInt8] {
        body.reset()
        errors.reset()
        try Self.set(handle, CURLOPT_URL, url, "KUVERT_BOUNCE_MAILBOX")
        try Self.check(
            command.map { kuvert_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, $0) }
                ?? kuvert_curl_set_pointer(handle, CURLOPT_CUSTOMREQUEST, nil),
            "CURLOPT_CUSTOMREQUEST"
        )
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            throw IMAPFailure(description: errors.text ?? String(cString: curl_easy_strerror(code)))
        }
        return body.bytes
    }
}

struct IMAPFailure: Error, CustomStringConvertible {
    var description: String
}

/// What libcurl hands the write callback, up to the largest message taken.
private final class ResponseBody {
    private(set) var bytes: [UInt8] = []

    func reset() { bytes.removeAll(keepingCapacity: true) }

    /// False past `BounceIntake.maximumSize` (and a little for the IMAP framing): the transfer stops.
    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= BounceIntake.maximumSize + 64 * 1024 else { return false }
        bytes.append(contentsOf: chunk)
        return true
    }
}
