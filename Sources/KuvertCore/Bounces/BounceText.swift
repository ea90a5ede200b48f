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
        // A suspended mailbox, in words that would otherwise read as "not now" or a block.
        Phrase(words: "temporary locked", kind: .soft, example: "lhost-amazonses-19: 5.7.1 User ... temporary locked. Please try again later"),
        Phrase(words: "recipient account is blocked", kind: .soft, example: "rhost-franceptt-05: 5.5.0 The recipient account is blocked"),
        // Japanese mobile carriers' recipient filters answer "550 : User unknown", with no address:
        // the mailbox exists and refuses the sender (rfc3464-57, rhost-gsuite-08, lhost-yahoo-06;
        // the same carriers' "550 <address>: User unknown" is a mailbox that does not exist, rfc3464-58).
        Phrase(words: " : user unknown", kind: .soft, example: "rfc3464-57: 550 : User unknown"),
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
        Phrase(words: "too many hops", kind: .transient, example: "lhost-sendmail-20: 554 5.4.6 Too many hops: a loop, not the mailbox"),
        Phrase(words: "hop count exceeded", kind: .transient, example: "lhost-x2-07, lhost-domino-03: a mail loop"),
        Phrase(words: "routing loop", kind: .transient, example: "lhost-domino-03: Message probably in a routing loop"),
        Phrase(words: "remote host is not responding", kind: .transient, example: "lhost-ezweb-05"),
        Phrase(words: "was not delivered within", kind: .transient, example: "lhost-ezweb-05: not delivered within 0 days and 1 hours"),
        Phrase(
            words: "was aborted after",
            kind: .transient,
            example: "lhost-x3-02: Delevery to the following recipients was aborted after 5.0 hour(s)"
        ),
        Phrase(
            words: "unexpected name server reply",
            kind: .transient,
            example: "lhost-postfix-17: a DNS server's fault, not a domain that does not exist"
        ),
        Phrase(words: "host not found, try again", kind: .transient, example: "lhost-postfix-34: DNS TRY_AGAIN"),
        Phrase(words: "malformed name server reply", kind: .transient, example: "BounceParser postfix-malformed: a DNS server's fault"),
        Phrase(
            words: "attempts: ",
            kind: .transient,
            example: "lhost-imailserver-04, flufl smtp32_01: SMTP32's Delivery failed 20 attempts: <address>"
        ),
        Phrase(words: "has not been collected after", kind: .transient, example: "flufl bounce_03: Demon's mailstore, not collected after 30 days"),
        Phrase(words: "delivery attempts will continue", kind: .transient, example: "flufl simple_22: a delay, not a failure"),
        Phrase(words: "message looping", kind: .transient, example: "flufl simple_18: 554 Message looping (received 6 times)"),
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
        // Not "virus" alone: MessageLabs' banner says every mail "has been scanned for all viruses" (BounceParser warning-1).
        Phrase(words: "virus detected", kind: .policy, example: "lhost-*: virus detected"),
        Phrase(words: "virus found", kind: .policy, example: "virus found in the message"),
        Phrase(words: "contains a virus", kind: .policy, example: "the message contains a virus"),
        Phrase(words: "dmarc", kind: .policy, example: "Gmail, Yahoo: DMARC policy"),
        Phrase(words: "spf", kind: .policy, example: "SPF check failed"),
        Phrase(words: "dkim", kind: .policy, example: "DKIM failures"),
        Phrase(words: "relay access denied", kind: .policy, example: "Postfix: relaying refused"),
        Phrase(words: "relaying denied", kind: .policy, example: "Sendmail: relaying refused"),
        Phrase(words: "not permitted to relay", kind: .policy, example: "relay refusals"),
        Phrase(words: "authentication checks failed", kind: .policy, example: "lhost-opensmtpd-11: 5.7.26 Multiple authentication checks failed"),
        Phrase(words: "open relay", kind: .policy, example: "lhost-v5sendmail-07: no access from mail server ... which is an open relay"),
        Phrase(words: "insecure mail relay", kind: .policy, example: "lhost-v5sendmail-06: 550 Insecure Mail Relay"),
        Phrase(words: "configured to relay", kind: .policy, example: "lhost-postfix-44: 5.7.1 This system is not configured to relay mail"),
        Phrase(words: "as a relay", kind: .policy, example: "BounceParser not-a-relay: you are trying to use me ... as a relay"),
        Phrase(words: "unable to relay", kind: .policy, example: "flufl dsn_09: 5.7.1 Unable to relay"),
        Phrase(
            words: "allowed rcpthosts",
            kind: .policy,
            example: "BounceParser rcpthosts: qmail's that domain isn't in my list of allowed rcpthosts"
        ),
        Phrase(words: "requires confirmation", kind: .policy, example: "BounceParser whitelist: Your server requires confirmation"),
        Phrase(words: "message size exceeded", kind: .policy, example: "BounceParser quota-4: a 5.1.1 for a message too large"),
        Phrase(words: "cannot send e-mail to yourself", kind: .policy, example: "lhost-v5sendmail-05: 550 Your E-Mail is redundant"),
        Phrase(
            words: "- a problem occurred",
            kind: .policy,
            example: "lhost-sendmail-16: 554 IP=192.0.2.254 - A problem occurred (the sending IP refused)"
        ),
        Phrase(words: "invalid ip for sending", kind: .policy, example: "lhost-yahoo-14: 554 INVALID IP FOR SENDING MAIL OF DOMAIN"),
        Phrase(words: "sender rejected", kind: .policy, example: "rhost-spectrum-01: 550 5.1.0 <...> sender rejected"),
        Phrase(words: "message was rejected", kind: .policy, example: "lhost-exim-39: Your message was rejected by this system"),
        Phrase(words: "unfortunately, messages from", kind: .policy, example: "lhost-ezweb-08: Outlook.com's SC-004, the sending IP refused"),
        Phrase(words: "policy", kind: .policy, example: "rejected by policy, policy violation"),
        // Not "content" alone: MessageLabs' banner speaks of "potentially offensive content" (BounceParser warning-1).
        Phrase(words: "content rejected", kind: .policy, example: "message content rejected"),
        Phrase(words: "content filter", kind: .policy, example: "rejected by a content filter"),
        Phrase(words: "content policy", kind: .policy, example: "refused by content policy"),
        Phrase(words: "unacceptable content", kind: .policy, example: "rejected for unacceptable content"),
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
        // Lotus Domino and Notes in Japanese, as ISO-2022-JP's bytes read (letters folded):
        // "ディレクトリには見つかりません", "ディレクトリのリストにありません".
        Phrase(words: "%g%#%l%/%h%j$k$o8+$d$+$j$^$;$s", kind: .hard, example: "lhost-domino-02: the user is not in the Domino directory"),
        Phrase(words: "%g%#%l%/%h%j$n%j%9%h$k$\"$j$^$;$s", kind: .hard, example: "lhost-notes-02: not in the directory's list"),
        Phrase(words: "no such recipient", kind: .hard, example: "various"),
        Phrase(words: "unknown local part", kind: .hard, example: "Exim"),
        Phrase(words: "unrouteable address", kind: .hard, example: "Exim: Unrouteable address"),
        // Postfix's "Recipient address rejected:" prefixes any reason (a full mailbox, DMARC):
        // only Microsoft's "Access denied" after it means no such mailbox.
        Phrase(words: "address rejected: access denied", kind: .hard, example: "lhost-exim-30, rhost-microsoft-02: Office 365's unknown recipient"),
        Phrase(
            words: "address rejected: mailbox full",
            kind: .soft,
            example: "lhost-qmail-24: 552 5.2.2 ... Recipient address rejected: Mailbox full"
        ),
        Phrase(words: "recipient address rejected", kind: .hard, example: "lhost-postfix-46: 550 <...>: Recipient address rejected."),
        Phrase(words: "invalid final delivery userid", kind: .hard, example: "lhost-imailserver-03"),
        Phrase(words: "check if address is correct", kind: .hard, example: "lhost-trendmicro-02: Unable to deliver message to <...>"),
        Phrase(
            words: "and other recipients in the same domain",
            kind: .hard,
            example: "lhost-trendmicro-03: InterScan's Unable to deliver message to <...>"
        ),
        Phrase(words: "does not accept mail", kind: .hard, example: "lhost-sendmail-57: 550 Host does not accept mail (a null MX, RFC 7505)"),
        Phrase(words: "not a known user", kind: .hard, example: "BounceParser user-unknown-not, cam-unknown"),
        Phrase(words: "not an active address", kind: .hard, example: "BounceParser user-unknown-not-active"),
        Phrase(words: "no mail box available", kind: .hard, example: "BounceParser nomailbox: 550 ** No mail box available for this user **"),
        Phrase(words: "mail-box not found", kind: .hard, example: "BounceParser badrcptto: qmail's badrcptto(user mail-box not found)"),
        Phrase(
            words: "no account by that name",
            kind: .hard,
            example: "BounceParser non-autoreply: 550 Recipient Rejected: No account by that name here"
        ),
        Phrase(words: "bad_recipient", kind: .hard, example: "BounceParser user-unknown-bad: 550 BAD_RECIPIENT"),
        Phrase(words: "name or service not known", kind: .hard, example: "BounceParser postfix-host-unknown: the domain has no address"),
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
        Phrase(
            words: "couldn't find a mail exchanger",
            kind: .hard,
            example: "lhost-qmail-11: Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
        ),
        Phrase(words: "couldn't find any host", kind: .hard, example: "qmail: Sorry, I couldn't find any host named"),
        Phrase(words: "domain is not reachable", kind: .hard, example: "lhost-outlook-03: 554 ... because the domain is not reachable"),
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
        let folded = fold(text.utf8)
        return needles.indices.first { MailReader.find(needles[$0], in: folded[...]) != nil }.map { phrases[$0] }
    }

    /// `bytes` with ASCII letters lowered and each run of white space one space.
    static func fold(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var folded: [UInt8] = []
        folded.reserveCapacity(bytes.underestimatedCount)
        var space = false
        for byte in bytes {
            if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
                space = true
                continue
            }
            if space, !folded.isEmpty { folded.append(32) }
            space = false
            folded.append(byte >= 65 && byte <= 90 ? byte + 32 : byte)
        }
        return folded
    }
}
