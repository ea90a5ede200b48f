import Foundation

/// What the words of a refusal say, for where its code says too little (a
/// generic `5.0.0`, `550` alone, a prose bounce with no code at all) or says
/// the opposite (a `5.1.1` that is in fact a rate limit). DESIGN.md: where the
/// text contradicts a generic code, the text decides: rate limits are
/// transient, preference and content refusals are policy.
///
/// One table, read in order: the first phrase found decides. Each row names a
/// real bounce it came from (`Tests/Fixtures/bounces/set-of-emails`, or the
/// provider's documentation), so the next system is a row, not a branch.
/// Phrases are lower case and matched in the text lower-cased and with its
/// runs of white space made one space.
public enum BounceText {
    public struct Phrase: Sendable {
        public var words: String
        public var kind: BounceKind
        /// Where it was seen.
        public var example: String
    }

    /// Rate limits and other "not now" first (they contradict the most
    /// codes), then refusals of the sender or the content, then a mailbox or
    /// domain that does not exist, then a mailbox that is full or closed.
    public static let phrases: [Phrase] = [
        // Not now.
        Phrase(words: "too many recipients this hour", kind: .transient, example: "DESIGN.md: a 5.1.1 that says so"),
        Phrase(words: "rate limit", kind: .transient, example: "rhost-google: 4.7.28 rate limited"),
        Phrase(words: "too many messages", kind: .transient, example: "lhost-exim: too many messages in this period"),
        Phrase(words: "too many connections", kind: .transient, example: "rhost-godaddy-03: too many connections"),
        Phrase(words: "try again later", kind: .transient, example: "Postfix greylisting replies"),
        Phrase(words: "temporarily", kind: .transient, example: "temporarily deferred, temporarily unavailable"),
        Phrase(words: "greylist", kind: .transient, example: "greylisting servers"),
        Phrase(words: "retry timeout exceeded", kind: .transient, example: "lhost-exim: a queue lifetime over"),
        Phrase(words: "delivery time expired", kind: .transient, example: "Sendmail, Exchange: expired"),
        Phrase(words: "cannot send message for", kind: .transient, example: "Sendmail: Cannot send message for 5 days"),
        Phrase(words: "message expired", kind: .transient, example: "queue lifetimes over"),
        Phrase(words: "too many recipients", kind: .transient, example: "lhost-postfix-48: 552 Too many recipients"),
        Phrase(words: "receiving mail at a rate", kind: .transient, example: "lhost-postfix-59: Gmail's 5.2.1 rate limit"),
        Phrase(words: "multiple retries", kind: .transient, example: "lhost-yahoo-13: Unable to deliver message after multiple retries"),
        Phrase(words: "in the queue too long", kind: .transient, example: "qmail: this message has been in the queue too long"),
        Phrase(words: "did not accept our requests to connect", kind: .transient, example: "lhost-gmail-10"),
        Phrase(words: "connection timed out", kind: .transient, example: "lhost-sendgrid-03"),
        Phrase(words: "timed out", kind: .transient, example: "connect timeouts"),
        Phrase(words: "connection refused", kind: .transient, example: "connect refusals"),
        Phrase(words: "socket error", kind: .transient, example: "lhost-gmail-10"),
        Phrase(words: "no route to host", kind: .transient, example: "network errors"),
        Phrase(words: "network is unreachable", kind: .transient, example: "network errors"),
        Phrase(words: "not accepting connections", kind: .transient, example: "lhost-sendmail-56: ESMTP not accepting connections"),
        Phrase(words: "all hosts have been failing", kind: .transient, example: "lhost-exim-08: Exim's retry time over"),
        Phrase(words: "envelope expired", kind: .transient, example: "lhost-opensmtpd-05: OpenSMTPD's queue lifetime over"),
        // The sender or the content refused, or the recipient's own choice.
        Phrase(words: "recipient preferences", kind: .policy, example: "DESIGN.md: 5.1.1 refused due to recipient preferences"),
        Phrase(words: "spam", kind: .policy, example: "lhost-* 550 5.7.1 ... spam"),
        Phrase(words: "blacklist", kind: .policy, example: "rhost-franceptt: blacklisted"),
        Phrase(words: "blocklist", kind: .policy, example: "Spamhaus replies"),
        Phrase(words: "block list", kind: .policy, example: "Microsoft S3150"),
        Phrase(words: "blocked", kind: .policy, example: "lhost-sendmail: 550 ... blocked"),
        Phrase(words: "rbl", kind: .policy, example: "realtime block lists"),
        Phrase(words: "dnsbl", kind: .policy, example: "DNS block lists"),
        Phrase(words: "reputation", kind: .policy, example: "Gmail: low reputation of the sending domain"),
        Phrase(words: "virus", kind: .policy, example: "lhost-*: virus detected"),
        Phrase(words: "dmarc", kind: .policy, example: "Gmail, Yahoo: DMARC policy"),
        Phrase(words: "spf", kind: .policy, example: "SPF check failed"),
        Phrase(words: "dkim", kind: .policy, example: "DKIM failures"),
        Phrase(words: "relay access denied", kind: .policy, example: "Postfix: relaying refused"),
        Phrase(words: "relaying denied", kind: .policy, example: "Sendmail: relaying refused"),
        Phrase(words: "not permitted to relay", kind: .policy, example: "relay refusals"),
        Phrase(words: "policy", kind: .policy, example: "rejected by policy, policy violation"),
        Phrase(words: "content", kind: .policy, example: "message content rejected"),
        Phrase(words: "message rejected", kind: .policy, example: "a message, not a mailbox, refused"),
        Phrase(words: "sender address rejected", kind: .policy, example: "Postfix: the sender refused"),
        Phrase(words: "domain of sender address", kind: .policy, example: "lhost-postfix-10: 5.1.8 Domain of sender address ... does not exist"),
        Phrase(words: "sender domain", kind: .policy, example: "sender domain must exist"),
        Phrase(words: "sender denied", kind: .policy, example: "the sender refused"),
        Phrase(words: "administrative prohibition", kind: .policy, example: "Exim: administrative prohibition"),
        Phrase(words: "not authorized", kind: .policy, example: "not authorized to send"),
        Phrase(words: "not allowed", kind: .policy, example: "lhost-postfix-65: 550 Unauthenticated senders not allowed"),
        Phrase(words: "smtp authentication", kind: .policy, example: "rhost-messagelabs-01: Please turn on SMTP Authentication"),
        Phrase(words: "after initial connection", kind: .policy, example: "lhost-exim-32: the server refused the connection, not a mailbox"),
        Phrase(words: "after mail from", kind: .policy, example: "lhost-exim-36: the server refused the sender"),
        Phrase(words: "unroutable sender", kind: .policy, example: "lhost-exim-36: 550 Unroutable sender address"),
        Phrase(words: "reverse dns", kind: .policy, example: "lhost-exim-32: 571 No PTR Record found. Reverse DNS required"),
        Phrase(words: "ptr record", kind: .policy, example: "lhost-exim-32"),
        Phrase(words: "my name was rejected", kind: .policy, example: "lhost-qmail-04: the HELO name refused"),
        Phrase(words: "protocol violation", kind: .policy, example: "lhost-postfix-41: 550 Protocol violation"),
        Phrase(words: "mismatches client ip", kind: .policy, example: "rhost-outlook-09"),
        Phrase(words: "purported responsible address", kind: .policy, example: "lhost-courier-03: Sender ID"),
        Phrase(words: "headers too large", kind: .policy, example: "lhost-sendmail-44: 552 5.6.0 Headers too large"),
        Phrase(words: "8-bit data", kind: .policy, example: "lhost-sendmail-06: 550 5.6.9 improper use of 8-bit data"),
        Phrase(words: "permission to post", kind: .policy, example: "Google Groups: you do not have permission to post"),
        Phrase(words: "groups.google.com", kind: .policy, example: "lhost-googlegroups-*: a group refusing posts, in any language, links its help"),
        Phrase(words: "after end of data", kind: .policy, example: "lhost-exim-45, rhost-franceptt-03: Exim's refusal of the message itself"),
        Phrase(words: "mail rejected", kind: .policy, example: "rhost-franceptt-03: 550 5.2.0 Mail rejete. Mail rejected."),
        // The mailbox or its domain does not exist.
        Phrase(words: "user unknown", kind: .hard, example: "lhost-gmail-01: 550 5.1.1 ... User Unknown"),
        Phrase(words: "unknown user", kind: .hard, example: "lhost-qmail-01: 550 Unknown user"),
        Phrase(words: "unknown or illegal user", kind: .hard, example: "lhost-exim-05"),
        Phrase(words: "no such user", kind: .hard, example: "Sendmail, Courier"),
        Phrase(words: "no such mailbox", kind: .hard, example: "various"),
        Phrase(words: "no mailbox", kind: .hard, example: "no mailbox here by that name"),
        Phrase(words: "mailbox not found", kind: .hard, example: "various"),
        Phrase(words: "mailbox unavailable", kind: .hard, example: "Exchange: 550 5.5.0 Requested action not taken: mailbox unavailable"),
        Phrase(words: "mailbox is unavailable", kind: .hard, example: "Exchange"),
        Phrase(words: "mailbox does not exist", kind: .hard, example: "various"),
        Phrase(words: "does not exist", kind: .hard, example: "Gmail: the email account that you tried to reach does not exist"),
        Phrase(words: "not exist", kind: .hard, example: "lhost-mcafee-05: 550 ... User not exist"),
        Phrase(words: "user doesn't have", kind: .hard, example: "lhost-powermta-02: This user doesn't have a example.com account"),
        Phrase(words: "no valid recipients", kind: .hard, example: "lhost-verizon-01: Error: No valid recipients for this MM"),
        Phrase(words: "doesn't exist", kind: .hard, example: "various"),
        Phrase(words: "unknown recipient", kind: .hard, example: "lhost-exchange2003-01"),
        Phrase(words: "recipient unknown", kind: .hard, example: "various"),
        Phrase(words: "recipient not found", kind: .hard, example: "Office 365: RecipientNotFound"),
        Phrase(words: "recipientnotfound", kind: .hard, example: "Office 365: 5.1.10 RESOLVER.ADR.RecipientNotFound"),
        Phrase(words: "invalid recipient", kind: .hard, example: "various"),
        Phrase(words: "invalid mailbox", kind: .hard, example: "various"),
        Phrase(words: "not a valid mailbox", kind: .hard, example: "various"),
        Phrase(words: "user not found", kind: .hard, example: "various"),
        Phrase(words: "address not found", kind: .hard, example: "Gmail: address not found"),
        Phrase(words: "recipient name is not recognized", kind: .hard, example: "lhost-exchange2003-01"),
        Phrase(words: "not listed in domino directory", kind: .hard, example: "lhost-domino-01"),
        Phrase(words: "not listed in public name & address book", kind: .hard, example: "Lotus Notes"),
        Phrase(words: "no such recipient", kind: .hard, example: "various"),
        Phrase(words: "unknown local part", kind: .hard, example: "Exim"),
        Phrase(words: "unrouteable address", kind: .hard, example: "Exim: Unrouteable address"),
        Phrase(words: "address rejected", kind: .hard, example: "Postfix: Recipient address rejected: User unknown"),
        Phrase(words: "host or domain name not found", kind: .hard, example: "Postfix: 5.4.4 Host or domain name not found"),
        Phrase(words: "domain not found", kind: .hard, example: "various"),
        Phrase(words: "invalid domain", kind: .hard, example: "lhost-amazonses-18: 550 5.4.4 Invalid domain"),
        Phrase(words: "illegal host", kind: .hard, example: "lhost-messagingserver-05: Status: 5.4.4 (Illegal host/domain name found)"),
        Phrase(words: "no such domain", kind: .hard, example: "various"),
        Phrase(words: "host not found", kind: .hard, example: "Sendmail: Host unknown"),
        Phrase(words: "host unknown", kind: .hard, example: "Sendmail: 550 Host unknown"),
        Phrase(words: "unknown host", kind: .hard, example: "various"),
        Phrase(words: "name service error", kind: .hard, example: "Sendmail: Name server: host not found"),
        Phrase(words: "all relevant mx records point to non-existent hosts", kind: .hard, example: "Exim"),
        Phrase(words: "could not be found", kind: .hard, example: "Outlook: the domain could not be found"),
        // A mailbox that is full, closed or moved.
        Phrase(words: "mailbox full", kind: .soft, example: "various"),
        Phrase(words: "mailbox is full", kind: .soft, example: "various"),
        Phrase(words: "quota", kind: .soft, example: "over quota, quota exceeded"),
        Phrase(words: "insufficient storage", kind: .soft, example: "various"),
        Phrase(words: "disabled", kind: .soft, example: "account disabled"),
        Phrase(words: "suspended", kind: .soft, example: "account suspended"),
        Phrase(words: "inactive", kind: .soft, example: "inactive account"),
    ]

    /// The phrases' words as bytes, in the table's order (they are ASCII).
    private static let needles = phrases.map { Array($0.words.utf8) }

    /// The first phrase of the table in `text`, if any: ASCII letters lowered
    /// and runs of white space made one space, searched as bytes (a line of a
    /// prose bounce is read against every phrase, and String's `contains` made
    /// this the reader's largest cost).
    public static func phrase(in text: String) -> Phrase? {
        var folded: [UInt8] = []
        folded.reserveCapacity(text.utf8.count)
        var space = false
        for byte in text.utf8 {
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                space = true
                continue
            }
            if space, !folded.isEmpty { folded.append(32) }
            space = false
            folded.append(byte >= 65 && byte <= 90 ? byte + 32 : byte)
        }
        return needles.indices.first { MailReader.find(needles[$0], in: folded[...]) != nil }.map { phrases[$0] }
    }
}
