import Foundation

/// The SMTP command a remote server refused the recipient at, where a bounce
/// says it: Postfix's "(in reply to RCPT TO command)", Exim's "after RCPT TO",
/// a Sendmail transcript's last `>>>` command before its `<<< 5xx` reply.
///
/// It matters for one case: a server that took the recipient at `RCPT TO`
/// and refused only after the message's data, in words that say the mailbox
/// does not exist, is a filter answering (Japanese mobile carriers answer
/// "550 User unknown" to senders their users filter; Sisimai calls it
/// `filtered`). Such a refusal counts towards the bounce limit instead of
/// bouncing at once (`BouncePolicy.kind(status:diagnostic:)`), unless its
/// status code says the mailbox does not exist. So does one whose code says
/// the mailbox exists (`5.2.x`) unless it was given at `RCPT TO`.
enum BounceStage {
    /// What Kuvert appends to a diagnostic that does not say its stage
    /// itself, when the rest of the bounce does.
    static func note(afterData: Bool) -> String {
        afterData ? "(in reply to end of DATA command)" : "(in reply to RCPT TO command)"
    }

    /// Words that name the stage, lower case, each with the command it names.
    static let markers: [(words: String, afterData: Bool)] = [
        ("in reply to end of data command", true),  // Postfix
        ("in reply to data command", true),  // Postfix
        ("smtp command data", true),  // m-FILTER: "-------SMTP command DATA"
        ("after end of data", true),  // Exim
        ("in reply to rcpt to command", false),  // Postfix
        ("after rcpt to", false),  // Exim
        ("after rcpt command", false),  // GMX
        ("rcpt_to]", false),  // Yahoo: "[RCPT_TO]"
        ("smtp:rcpt", false),  // X3
        ("most progress was rcpt to", false),  // qmail
        ("error following rcpt command", false),  // X6
    ]

    /// Whether the refusal in `text` came after the message's data: the
    /// first marker found decides (white space folded, so a marker wrapped
    /// over two lines is found); else a Sendmail transcript, its command
    /// before the first refusal. Nil when the text does not say.
    static func afterData(_ text: [UInt8]) -> Bool? {
        let folded = BounceText.fold(text)
        var first: (position: Int, afterData: Bool)?
        for marker in markers {
            if let found = MailReader.find(Array(marker.words.utf8), in: folded[...]), found.lowerBound < first?.position ?? Int.max {
                first = (found.lowerBound, marker.afterData)
            }
        }
        if let first { return first.afterData }
        return transcriptAfterData(text.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }[...])
    }

    /// A transcript (`>>> RCPT To:<…>`, `<<< 550 …`): whether its first 4xx
    /// or 5xx reply answered `DATA`. With pipelining, a client sends `DATA`
    /// before the `RCPT TO` replies arrive: a refusal followed by a further
    /// reply to the same command answered a `RCPT TO` before it.
    private static func transcriptAfterData(_ lowered: ArraySlice<UInt8>) -> Bool? {
        var command: Substring?
        var failed: (command: Substring?, replies: Int)?
        for line in String(decoding: lowered, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix(">>> ") {
                if let failed { return failed.command.map { $0 == "data" && failed.replies == 1 } }
                command = line.dropFirst(4).split(separator: " ").first.map { $0.prefix(4) }
            } else if line.hasPrefix("<<< ") {
                if failed != nil {
                    failed?.replies += 1
                } else if line.hasPrefix("<<< 5") || line.hasPrefix("<<< 4") {
                    failed = (command, 1)
                }
            }
        }
        return failed.flatMap { failed in failed.command.map { $0 == "data" && failed.replies == 1 } }
    }
}
