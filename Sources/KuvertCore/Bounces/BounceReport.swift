import Foundation

/// What a message sent to a bounce address says about the message it names:
/// read from a delivery status notification (RFC 3464), a feedback report
/// (RFC 5965) or an automatic reply (RFC 3834). Anything else is unrecognised.
public enum BounceReport: Sendable, Equatable {
    /// A delivery status notification; its most serious recipient.
    case deliveryStatus(status: String, action: String?, diagnostic: String?)
    /// A feedback report: the recipient called the message unwanted.
    case complaint(feedbackType: String)
    /// A feedback report that is no person's complaint: an authentication
    /// failure (RFC 6591), a DMARC report, a virus found, "not-spam" (RFC 6430).
    case feedback(type: String)
    /// An automatic reply (vacation, out of office).
    case autoReply
    /// None of those; `subject` is kept so that an operator can see what came.
    case unrecognised(subject: String?)

    /// Reads one message.
    public init(message bytes: [UInt8]) {
        self = Self.read(MailReader(bytes))
    }

    /// Feedback types that are a person's complaint: the message was abuse or
    /// fraud to them, or they asked to be taken off (RFC 5965's `opt-out` of
    /// the drafts). Any other type is recorded and changes nothing.
    static let complaintTypes: Set<String> = ["abuse", "fraud", "opt-out"]

    private static func read(_ message: MailReader) -> BounceReport {
        // Parsed once: the parts and the human text serve each step below.
        let parts = message.allParts
        let text = BounceProse.text(of: message, parts: parts)
        return withStage(readReport(message, parts: parts, text: text), text: text)
    }

    /// A refusal whose words say the mailbox does not exist, at the SMTP
    /// command the bounce's text names elsewhere (Postfix's "in reply to end
    /// of DATA command" in its human part, a Sendmail transcript): the
    /// diagnostic says so too, for the policy to read (`BounceStage`).
    private static func withStage(_ report: BounceReport, text: [UInt8]?) -> BounceReport {
        guard case .deliveryStatus(let status, let action, let diagnostic?) = report,
            BounceText.phrase(in: diagnostic)?.kind == .hard,
            BounceStage.afterData(Array(diagnostic.utf8)) == nil,
            let afterData = text.flatMap(BounceStage.afterData)
        else { return report }
        let note = BounceStage.note(afterData: afterData)
        return .deliveryStatus(status: status, action: action, diagnostic: String(diagnostic.prefix(300 - note.count - 1)) + " " + note)
    }

    private static func readReport(_ message: MailReader, parts: [MailReader], text: [UInt8]?) -> BounceReport {
        // Reports nested in `multipart/mixed` (a forwarding system's wrapper) are looked into too.
        let type = message.contentType
        let reportType = type.mediaType == "multipart/report" ? type.parameters["report-type"]?.lowercased() : nil
        // A report's machine-readable part, whatever its report-type says.
        if let feedback = parts.first(where: { $0.contentType.mediaType == "message/feedback-report" }) {
            let fields = Self.fieldGroups(feedback.decodedBody).reduce(into: [String: String]()) { $0.merge($1) { first, _ in first } }
            let feedbackType = Self.printable(fields["feedback-type"] ?? "abuse", limit: 32).lowercased()
            return complaintTypes.contains(feedbackType) ? .complaint(feedbackType: feedbackType) : .feedback(type: feedbackType)
        }
        // Outlook.com's feedback loop (Microsoft JMRP) sends no feedback-report
        // part: the complained-of message, whose header names its recipient.
        if parts.contains(where: {
            $0.contentType.mediaType == "message/rfc822" && MailReader($0.decodedBody[...]).field("x-hmxmroriginalrecipient") != nil
        }) {
            return .complaint(feedbackType: "abuse")
        }
        if let status = parts.first(where: {
            ["message/delivery-status", "message/global-delivery-status"].contains($0.contentType.mediaType)
        }), let report = Self.deliveryStatus(status.decodedBody) {
            return Self.withProse(report, of: message, text: text)
        }
        // A report's fields in a part that does not say it is one (or in the body of a
        // multipart whose boundary never appears): only groups that name their recipient.
        let plainParts = parts.isEmpty ? [message] : parts.filter { $0.contentType.mediaType == "text/plain" }
        for part in plainParts {
            if let report = Self.deliveryStatus(part.decodedBody, namingRecipient: true) { return Self.withProse(report, of: message, text: text) }
        }
        // Amazon SES's notification sent by mail (an SNS subscription of the email protocol): JSON.
        if let text, let report = Self.sesNotification(text) { return report }
        // A bounce in prose: before the auto-reply test, since Exim marks its bounces `Auto-Submitted: auto-replied`.
        if let prose = BounceProse.read(message, text: .some(text)) { return prose }
        if reportType == nil, Self.isAutoReply(message) { return .autoReply }
        return .unrecognised(subject: Self.subject(of: message))
    }

    /// What an SES notification in a mail's body says, as a report: the
    /// recipient's status (or, without one, the code that says what SES's
    /// bounce type says), or the complaint.
    private static func sesNotification(_ body: [UInt8]) -> BounceReport? {
        // The JSON up to SNS's footer ("--", how to unsubscribe), its long line
        // perhaps folded on the way ("\n " where a mail system wrapped it).
        guard let start = body.firstIndex(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }), body[start] == UInt8(ascii: "{")
        else { return nil }
        var json: [UInt8] = []
        var index = start
        while index < body.count {
            let byte = body[index]
            if byte == 10, index + 2 < body.count, body[index + 1] == UInt8(ascii: "-"), body[index + 2] == UInt8(ascii: "-") { break }
            if byte == 10, index + 1 < body.count, body[index + 1] == 32 {
                index += 2
                continue
            }
            if byte != 13 { json.append(byte) }
            index += 1
        }
        // The notification itself, or the SNS message that carries it as its `Message`.
        struct Envelope: Decodable { var Message: String }
        let notification = (try? JSONDecoder().decode(Envelope.self, from: Data(json))).map { Data($0.Message.utf8) } ?? Data(json)
        guard let event = try? SESNotification.events(notification, messageId: "mail").first else { return nil }
        switch event.kind {
        case .complaint: return .complaint(feedbackType: "abuse")
        case .ignored where event.action?.hasPrefix("Complaint") == true:
            return .feedback(type: event.action?.split(separator: "/").dropFirst().first.map { String($0).lowercased() } ?? "other")
        case .hard, .soft, .policy, .transient:
            let code = ["hard": "5.1.1", "soft": "5.0.0", "policy": "5.7.1", "transient": "4.0.0"][event.kind.rawValue]
            return .deliveryStatus(status: event.status ?? code ?? "5.0.0", action: "failed", diagnostic: event.diagnostic)
        case .autoReply, .ignored: return nil
        }
    }

    /// A report whose own fields give no words to judge a generic status by
    /// (Gmail's `Status: 5.0.0` with no `Diagnostic-Code`) takes the reason
    /// its human-readable part gives, when that part reads as a bounce.
    private static func withProse(_ report: BounceReport, of message: MailReader, text: [UInt8]?) -> BounceReport {
        guard case .deliveryStatus(let status, let action, let diagnostic) = report,
            diagnostic.flatMap(BounceText.phrase(in:)) == nil,
            case .deliveryStatus(_, _, let words)? = BounceProse.read(message, text: .some(text)),
            let words, BounceText.phrase(in: words) != nil
        else { return report }
        return .deliveryStatus(status: status, action: action, diagnostic: words)
    }

    /// Fields that speak of one recipient, not of the message.
    private static let recipientFields = ["final-recipient", "original-recipient", "action", "status", "diagnostic-code"]

    /// The most serious recipient of a `message/delivery-status` body: a
    /// permanent status before a transient one before any other.
    private static func deliveryStatus(_ body: [UInt8], namingRecipient: Bool = false) -> BounceReport? {
        var best: (rank: Int, report: BounceReport)?
        // Each group about one recipient; the one about the message has none of
        // their fields. Real reports leave it out, put it in one block with the
        // first recipient's, or put blank lines anywhere: a group is a
        // recipient's when it has a recipient's fields.
        for fields in Self.fieldGroups(body) where recipientFields.contains(where: { fields[$0] != nil }) {
            if namingRecipient, fields["final-recipient"] == nil, fields["original-recipient"] == nil { continue }
            // The words: the diagnostic, else what a Status field says after its code ("5.4.4 (Illegal host/domain name found)").
            let diagnostic = (fields["diagnostic-code"] ?? fields["status"].flatMap { $0.contains(" ") ? $0 : nil })
                .map { Self.printable($0, limit: 300) }
            // The remote server's own code in its reply, where it gives one of the same class,
            // over the reporting MTA's Status (a 5.0.0, or a 5.1.1 for what the reply calls 5.2.2).
            let given = Self.statusCode(in: fields["status"])
            let replied = Self.statusCode(inReply: diagnostic) ?? diagnostic.flatMap(BounceProse.statusCode(in:))
            let preferred = replied.flatMap { replied in given == nil || given?.first == replied.first ? replied : nil } ?? given
            guard let status = preferred ?? Self.basicCode(inReply: diagnostic) else { continue }
            let rank =
                switch status.first {
                case "5": 3
                case "4": 2
                default: 1
                }
            if rank > (best?.rank ?? 0) {
                let action = fields["action"].map { Self.printable($0, limit: 32).lowercased() }
                best = (rank, .deliveryStatus(status: status, action: action, diagnostic: diagnostic))
            }
        }
        return best?.report
    }

    /// RFC 3834's `Auto-Submitted` (any value but `no`), and the fields that
    /// common vacation programs set instead.
    private static func isAutoReply(_ message: MailReader) -> Bool {
        if let value = message.field("auto-submitted")?.lowercased(), !value.hasPrefix("no") { return true }
        if message.field("x-autoreply") != nil || message.field("x-autorespond") != nil { return true }
        return message.field("precedence")?.lowercased() == "auto_reply"
    }

    private static func subject(of message: MailReader) -> String? {
        message.field("subject").map { printable($0, limit: 200) }
    }

    /// Groups of header-style fields separated by blank lines, as in a
    /// `message/delivery-status` or `message/feedback-report` body; names
    /// lower-cased, continuation lines unfolded, the first of a name kept.
    static func fieldGroups(_ body: [UInt8]) -> [[String: String]] {
        var groups: [[String: String]] = []
        var group: [String: String] = [:]
        var last: String?
        var position = body.startIndex
        let bytes = body[...]
        while position < bytes.endIndex {
            let (line, next) = MailReader.line(in: bytes, from: position)
            position = next
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                if !group.isEmpty {
                    groups.append(group)
                    group = [:]
                }
                last = nil
                continue
            }
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                if let last, group[last] != nil {
                    group[last]! += " " + MailReader.text(line).trimmingCharacters(in: .whitespaces)
                }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = MailReader.text(line[line.startIndex..<colon]).trimmingCharacters(in: .whitespaces).lowercased()
            if group[name] == nil {
                group[name] = MailReader.text(line[(colon + 1)...]).trimmingCharacters(in: .whitespaces)
                last = name
            } else {
                last = nil
            }
        }
        if !group.isEmpty { groups.append(group) }
        return groups
    }

    /// A reply's basic code alone ("smtp; 550 Unknown user"), as the generic
    /// status of its class (`5.0.0`, `4.0.0`): the words then decide.
    static func basicCode(inReply diagnostic: String?) -> String? {
        guard let diagnostic else { return nil }
        let words = diagnostic.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "-" || $0 == ":" || $0 == "," })
        guard let code = words.first(where: { $0.count == 3 && $0.allSatisfy(\.isNumber) && ["4", "5"].contains($0.first) }) else {
            return nil
        }
        return "\(code.first!).0.0"
    }

    /// An RFC 3463 status code (`5.1.1`) at the start of a `Status` field.
    static func statusCode(in field: String?) -> String? {
        guard let field, let word = field.split(whereSeparator: { $0 == " " || $0 == "(" }).first else { return nil }
        return isStatusCode(word) ? String(word) : nil
    }

    /// The status code in a reply quoted by `Diagnostic-Code` ("smtp; 550 5.1.1 …").
    static func statusCode(inReply diagnostic: String?) -> String? {
        guard let diagnostic else { return nil }
        let words = diagnostic.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "-" || $0 == "'" || $0 == "\"" })
        for (index, word) in words.enumerated() where word.count == 3 && word.allSatisfy(\.isNumber) {
            if index + 1 < words.count, isStatusCode(words[index + 1]), words[index + 1].first == word.first {
                return String(words[index + 1])
            }
        }
        return nil
    }

    private static func isStatusCode(_ word: Substring) -> Bool {
        let pieces = word.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3, ["2", "4", "5"].contains(pieces[0]) else { return false }
        return pieces.dropFirst().allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// `value` with control characters made spaces and cut at `limit` characters:
    /// safe to store and print on one line.
    static func printable(_ value: String, limit: Int) -> String {
        String(value.unicodeScalars.prefix(limit).map { $0.properties.generalCategory == .control ? " " : Character($0) })
    }
}
