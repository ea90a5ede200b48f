import Foundation

/// Bounces written as prose, with no RFC 3464 report: Exim, qmail, Sendmail,
/// Exchange, Domino, Gmail, Yahoo and the others. Each system is a row: the
/// sentence that starts its failure text, and the real bounce it was seen in
/// (`Tests/Fixtures/bounces/set-of-emails`). A message is read as such a
/// bounce when it holds one of those sentences, or when a mailer daemon sends
/// it under a bounce's subject. The failure text runs from the sentence to where the
/// returned message begins; its status code (or, with none, its reply code,
/// or its words alone) is judged by the same policy as a report's.
enum BounceProse {
    struct System {
        var name: String
        /// Lower case; the failure text starts after it.
        var marker: String
        var example: String
    }

    static let systems: [System] = [
        System(name: "Exim", marker: "this message was created automatically by mail delivery software", example: "lhost-exim-05"),
        System(name: "qmail", marker: "this is the qmail-send program", example: "lhost-qmail-01"),
        System(name: "Sendmail", marker: "the following addresses had permanent fatal errors", example: "lhost-sendmail-14"),
        System(name: "Sendmail, transcript", marker: "----- transcript of session follows -----", example: "lhost-v5sendmail-03"),
        System(name: "McAfee", marker: "the following addresses had delivery problems", example: "lhost-mcafee-01"),
        System(name: "Postfix without a report", marker: "this is the mail system at host", example: "lhost-postfix-*"),
        System(name: "Microsoft Exchange 2003", marker: "did not reach the following recipient(s)", example: "lhost-exchange2003-01"),
        System(
            name: "Microsoft Exchange 2007, Office 365",
            marker: "delivery has failed to these recipients or groups",
            example: "lhost-exchange2007-*"
        ),
        System(name: "Lotus Domino", marker: "was not delivered to:", example: "lhost-domino-01"),
        System(name: "Gmail", marker: "delivery to the following recipient failed permanently", example: "lhost-gmail-01"),
        System(name: "Gmail, delayed", marker: "delivery to the following recipient has been delayed", example: "lhost-gmail-*"),
        System(name: "Gmail, since 2013", marker: "the email account that you tried to reach", example: "lhost-gmail-*"),
        System(name: "Yahoo", marker: "sorry, we were unable to deliver your message", example: "lhost-yahoo-01"),
        System(name: "OpenSMTPD", marker: "an error has occurred while attempting to deliver a message", example: "lhost-opensmtpd-01"),
        System(name: "Courier", marker: "this is a delivery status notification from", example: "lhost-courier-*"),
        System(name: "GMX, Web.de", marker: "a message that you sent could not be delivered to one or more of its", example: "lhost-gmx-*"),
        System(name: "mail.ru, Exim's wording", marker: "could not be delivered to one or more of its recipients", example: "lhost-mailru-*"),
        System(name: "Trend Micro", marker: "the following recipient(s) could not be reached", example: "lhost-trendmicro-*"),
        System(name: "Trend Micro InterScan MSS", marker: "sent <<< rcpt to:", example: "lhost-trendmicro-01"),
        System(name: "IMail", marker: "unknown user:", example: "lhost-imailserver-*"),
        System(name: "Verizon, EZweb and others", marker: "the following recipients did not receive this message", example: "lhost-verizon-*"),
        System(name: "AOL", marker: "---- the following addresses had permanent fatal errors", example: "rhost-aol-*"),
        System(name: "Zoho", marker: "this message was created automatically by mail delivery", example: "lhost-zoho-*"),
        System(name: "Mimecast and others", marker: "your message couldn't be delivered", example: "rhost-mimecast-*"),
        System(name: "Verizon", marker: "error message below:", example: "lhost-verizon-02"),
        System(name: "qmail at United Online", marker: "your mail was not delivered to the following address", example: "flufl qmail_05"),
        System(name: "X6", marker: "we had trouble delivering your message", example: "lhost-x6-02"),
        System(name: "Exim 3 era relays", marker: "failed addresses follow:", example: "rfc3464-37"),
        System(name: "Generic", marker: "could not be delivered to the following recipients", example: "various"),
        System(name: "Generic", marker: "delivery to the following recipients failed", example: "various"),
        System(name: "Generic", marker: "message could not be delivered", example: "various"),
    ]

    /// Where the returned message begins: the failure text stops there.
    static let returnedMarkers = [
        "----- this is a copy of the message", "--- below this line is a copy of the message", "----- original message -----",
        "below is a copy of the original message", "------ this is a copy of the message's headers", "original message follows",
        "------- returned message", "----- unsent message below -----", "----- original message follows -----",
        "--- the header of the original message is following", "------=_part", "return-path:", "received: from",
    ]

    /// Subjects a mailer daemon gives a bounce (lower case).
    static let subjects = [
        "undeliver", "delivery status notification", "mail delivery failed", "failure notice", "returned mail",
        "delivery failure", "non-deliver", "nondeliver", "could not be delivered", "mail system error", "delivery notification",
        "message not delivered", "delivery has failed", "failed delivery", "mail delivery system", "mail failed", "mail not delivered",
    ]

    /// The report of a prose bounce, or nil when `message` is none.
    /// - Parameter text: the message's human text (`text(of:)`), when the caller has it.
    static func read(_ message: MailReader, text: [UInt8]?? = nil) -> BounceReport? {
        guard let bytes = text ?? Self.text(of: message) else { return nil }
        // ASCII letters lowered in place, so that offsets stay the original's
        // (a lowercased String may differ in length); the markers are ASCII.
        let lowered = bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        func find(_ needle: String, in range: Range<Int>) -> Range<Int>? { MailReader.find(Array(needle.utf8), in: lowered[range]) }
        var start = 0
        if let found = systems.lazy.compactMap({ find($0.marker, in: 0..<lowered.count) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            // From the sentence itself: IMail's is the reason ("Unknown user: ...").
            start = found.lowerBound
        } else {
            let from = message.field("from")?.lowercased() ?? ""
            let subject = message.field("subject")?.lowercased() ?? ""
            guard ["mailer-daemon", "postmaster", "mail delivery", "mail-daemon"].contains(where: from.contains),
                subjects.contains(where: subject.contains)
            else { return nil }
        }
        var end = lowered.count
        for marker in returnedMarkers {
            if let found = find(marker, in: start..<end) { end = found.lowerBound }
        }
        let failure = String(decoding: bytes[start..<end], as: UTF8.self)
        let lines = failure.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // The line that gives the reason: a code, or words the policy knows; and the two after it.
        let reason = lines.firstIndex { line in
            Self.statusCode(in: line) != nil || BounceReport.basicCode(inReply: line) != nil || BounceText.phrase(in: line) != nil
        }
        // With none there, words the policy knows just before the sentence
        // (EZweb: "Your message was not delivered within 0 days and 1 hours.").
        let before = String(decoding: bytes[max(0, start - 400)..<start], as: UTF8.self).split(whereSeparator: \.isNewline)
        let earlier = reason == nil ? before.last { BounceText.phrase(in: String($0)) != nil }.map(String.init) : nil
        // The reason's line and up to two that continue it (a line with a code of its own is another reason).
        let diagnostic =
            reason.map { first in
                ([lines[first]]
                    + lines[(first + 1)...].prefix(2).prefix { Self.statusCode(in: $0) == nil && BounceReport.basicCode(inReply: $0) == nil })
                    .joined(separator: " ")
            } ?? ((earlier.map { [$0] } ?? []) + lines.prefix(earlier == nil ? 3 : 2)).joined(separator: " ")
        let delayed = ["delayed", "will be retried", "will continue trying", "still trying", "not yet been delivered"]
            .contains { find($0, in: start..<end) != nil }
        let status =
            Self.statusCode(in: failure) ?? BounceReport.basicCode(inReply: reason.map { lines[$0] }) ?? (delayed ? "4.0.0" : "5.0.0")
        return .deliveryStatus(
            status: status,
            action: status.first == "4" ? "delayed" : "failed",
            diagnostic: BounceReport.printable(diagnostic.split(whereSeparator: \.isWhitespace).joined(separator: " "), limit: 300)
        )
    }

    /// The first RFC 3463 code in `text` (`4.x.x` or `5.x.x`), as a word of
    /// its own or in brackets (qmail's "(#5.5.0)"): words end at white space
    /// and `()[]<>#;,`, and lose the dots and colons at their ends. Read as
    /// bytes: this runs on every line of every prose bounce.
    static func statusCode(in text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            func separates(_ byte: UInt8) -> Bool {
                byte == 32 || (9...13).contains(byte) || "()[]<>#;,".utf8.contains(byte)
            }
            var start = 0
            while start < bytes.count {
                // One word: from here to the next separator.
                var end = start
                while end < bytes.count, !separates(bytes[end]) { end += 1 }
                var (low, high) = (start, end)
                while low < high, bytes[low] == 46 || bytes[low] == 58 { low += 1 }
                while high > low, bytes[high - 1] == 46 || bytes[high - 1] == 58 { high -= 1 }
                if Self.isStatusCode(bytes[low..<high]) { return String(decoding: bytes[low..<high], as: UTF8.self) }
                start = end + 1
            }
            return nil
        }
    }

    /// `4.d.d` or `5.d.d`, each `d` one to three digits.
    private static func isStatusCode(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard word.count >= 5, word.count <= 9, let first = word.first, first == 52 || first == 53 else { return false }
        var pieces = 0
        var digits = 0
        for byte in word.dropFirst() {
            if byte == 46 {
                guard pieces == 0 || (1...3).contains(digits) else { return false }
                pieces += 1
                digits = 0
            } else if (48...57).contains(byte) {
                digits += 1
            } else {
                return false
            }
        }
        return pieces == 2 && (1...3).contains(digits)
    }

    /// The human text of a message: its first `text/plain` part, or its body
    /// when it is text; transfer encoding undone, at most 64 KB.
    static func text(of message: MailReader, parts given: [MailReader]? = nil) -> [UInt8]? {
        let plain: MailReader?
        if message.contentType.mediaType.hasPrefix("multipart/") {
            let parts = given ?? message.allParts
            // A multipart whose boundary never appears (rfc3464-06): its body is all there is.
            plain = parts.isEmpty ? message : parts.first { $0.contentType.mediaType == "text/plain" }
        } else {
            plain = message.contentType.mediaType.hasPrefix("text/") ? message : nil
        }
        guard let plain else { return nil }
        return Array(plain.decodedBody.prefix(65_536))
    }
}
