import Foundation
import Synchronization

/// An email as RFC 5322 and MIME describe it: headers and a text part, with an
/// optional HTML alternative, encoded for the wire.
///
/// Rendering produces CRLF line endings, `Date`, a unique `Message-ID`, RFC 2047
/// encoded words for non-ASCII header text, folded header lines and
/// quoted-printable UTF-8 bodies with lines of at most 76 characters.
public struct MailMessage: Sendable {
    /// Why a message cannot be rendered.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// A header value holds a line break or control character.
        case headerInjection(header: String)
        case invalidMailbox(String)

        public var description: String {
            switch self {
            case .headerInjection(let header): "The \(header) header would contain a line break."
            case .invalidMailbox(let text): "'\(text)' is not an address such as 'Name <news@example.se>'."
            }
        }
    }

    public var from: Mailbox
    public var to: Mailbox
    public var replyTo: Mailbox?
    public var subject: String
    public var text: String
    public var html: String?
    /// Further headers in order, such as `Auto-Submitted` or `List-Unsubscribe`.
    public var headers: [(name: String, value: String)]
    public var date: Date
    /// Without angle brackets.
    public var messageID: String
    /// The text and HTML bodies already in quoted-printable (a newsletter's,
    /// spliced from its campaign's encoded template); `text` and `html` are then not used.
    var encodedBodies: (text: [UInt8], html: [UInt8])?

    public init(
        from: Mailbox,
        to: Mailbox,
        replyTo: Mailbox? = nil,
        subject: String,
        text: String,
        html: String? = nil,
        headers: [(name: String, value: String)] = [],
        date: Date = Date(),
        messageID: String? = nil
    ) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.headers = headers
        self.date = date
        self.messageID = messageID ?? "\(RandomHex.make())@\(from.domain)"
    }

    /// The message as bytes for SMTP `DATA`.
    /// - Throws: `Problem` when a header value would break the header section.
    public func rendered() throws(Problem) -> [UInt8] {
        var out = MIMEWriter()
        try out.header("Date", Self.rfc5322Date(date))
        try out.header("Message-ID", "<\(messageID)>")
        try out.header("From", try Self.mailboxHeader(from, header: "From"))
        try out.header("To", try Self.mailboxHeader(to, header: "To"))
        if let replyTo { try out.header("Reply-To", try Self.mailboxHeader(replyTo, header: "Reply-To")) }
        try out.header("Subject", try MIMEWriter.encodedText(subject, header: "Subject"))
        for header in headers { try out.header(header.name, header.value) }
        try out.header("MIME-Version", "1.0")
        // Bodies come encoded from a cache (newsletters, confirmations) or are encoded here.
        let plain = encodedBodies?.text ?? Self.quotedPrintable(text)
        guard let html = encodedBodies?.html ?? html.map(Self.quotedPrintable) else {
            out.append(Self.partHeaders.plain)
            out.append(plain)
            return out.bytes
        }
        let boundary = try Self.alternativeHeader(&out)
        for (header, body) in [(Self.partHeaders.plain, plain), (Self.partHeaders.html, html)] {
            out.line("--" + boundary)
            out.append(header)
            out.append(body)
        }
        out.line("--" + boundary + "--")
        return out.bytes
    }

    /// The multipart header and preamble; returns the boundary.
    private static func alternativeHeader(_ out: inout MIMEWriter) throws(Problem) -> String {
        let boundary = "=_kuvert_" + RandomHex.make()
        try out.header("Content-Type", "multipart/alternative; boundary=\"\(boundary)\"")
        out.line("")
        out.line("This is a message in MIME format: a plain-text and an HTML version.")
        return boundary
    }

    private static func quotedPrintable(_ body: String) -> [UInt8] {
        var out = MIMEWriter()
        out.quotedPrintable(body)
        return out.bytes
    }

    /// The two parts' headers, the same in every message.
    private static let partHeaders = (plain: partHeader("text/plain"), html: partHeader("text/html"))

    private static func partHeader(_ type: String) -> [UInt8] {
        Array("Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n".utf8)
    }

    static func mailboxHeader(_ mailbox: Mailbox, header: String) throws(Problem) -> String {
        guard Mailbox.isPlausibleAddress(mailbox.address) else { throw .invalidMailbox(mailbox.address) }
        guard let name = mailbox.name, !name.isEmpty else { return mailbox.address }
        return try MIMEWriter.displayName(name, header: header) + " <" + mailbox.address + ">"
    }

    /// `Sun, 22 Nov 2026 21:04:57 +0000`, always in UTC and English.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        // A second's messages share their Date header's text.
        if let text = lastDate.withLock({ $0.seconds == seconds ? $0.text : nil }) { return text }
        let text = formatDate(seconds)
        lastDate.withLock { $0 = (seconds, text) }
        return text
    }

    private static let lastDate = Mutex<(seconds: time_t, text: String)>((-1, ""))

    private static func formatDate(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

}
