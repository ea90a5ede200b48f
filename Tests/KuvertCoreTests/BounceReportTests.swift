import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Reading what comes back to a bounce address: DSNs, complaints, auto-replies")
struct BounceReportTests {
    @Test(
        "each fixture's verdict",
        arguments: [
            ("postfix-unknown-user.eml", BounceKind.hard, "5.1.1", "failed"),
            ("postfix-expired.eml", .transient, "4.4.1", "failed"),
            ("postfix-delayed.eml", .transient, "4.4.1", "delayed"),
            ("no-such-domain.eml", .hard, "5.4.4", "failed"),
            ("mailbox-full.eml", .soft, "5.2.2", "failed"),
            ("policy-refusal.eml", .policy, "5.7.1", "failed"),
        ]
    )
    func deliveryStatus(file: String, kind: BounceKind, status: String, action: String) throws {
        let report = BounceReport(message: try TestPaths.bounceFixture(file))
        guard case .deliveryStatus(let read, let readAction, let diagnostic) = report else {
            Issue.record("\(file): \(report)")
            return
        }
        #expect(read == status)
        #expect(readAction == action)
        #expect(BouncePolicy.kind(of: report) == kind)
        let text = try #require(diagnostic)
        #expect(!text.isEmpty && text.count <= 300 && !text.contains("\n") && !text.contains("\r"))
    }

    @Test("the diagnostic is unfolded and decoded")
    func diagnostics() throws {
        let unknown = BounceReport(message: try TestPaths.bounceFixture("postfix-unknown-user.eml"))
        #expect(unknown == .deliveryStatus(status: "5.1.1", action: "failed", diagnostic: "X-Postfix; unknown user: \"nobody-here\""))
        let full = BounceReport(message: try TestPaths.bounceFixture("mailbox-full.eml"))
        #expect(
            full
                == .deliveryStatus(
                    status: "5.2.2",
                    action: "failed",
                    diagnostic: "smtp; 552-5.2.2 The email account that you tried to reach is over quota."
                )
        )
        // Base64 in the report part.
        let policy = BounceReport(message: try TestPaths.bounceFixture("policy-refusal.eml"))
        #expect(
            policy
                == .deliveryStatus(
                    status: "5.7.1",
                    action: "failed",
                    diagnostic: "smtp; 550 5.7.1 Message rejected as spam by Content Filtering"
                )
        )
    }

    @Test("a feedback report is a complaint; a vacation reply an auto-reply; a person's reply is kept as unrecognised")
    func otherReports() throws {
        #expect(BounceReport(message: try TestPaths.bounceFixture("arf-complaint.eml")) == .complaint(feedbackType: "abuse"))
        #expect(BounceReport(message: try TestPaths.bounceFixture("auto-reply.eml")) == .autoReply)
        #expect(BounceReport(message: try TestPaths.bounceFixture("unrecognised.eml")) == .unrecognised(subject: "Re: News from the garden"))
        #expect(BouncePolicy.kind(of: .complaint(feedbackType: "abuse")) == .complaint)
        #expect(BouncePolicy.kind(of: .autoReply) == .autoReply)
        #expect(BouncePolicy.kind(of: .unrecognised(subject: nil)) == .ignored)
    }

    @Test("a DSN without a status takes the one in its diagnostic; one with neither is unrecognised")
    func statusFromDiagnostic() {
        let withReply = Self.dsn(recipient: "Action: failed\nDiagnostic-Code: smtp; 550 5.1.1 <a@b.example>: unknown")
        #expect(withReply == .deliveryStatus(status: "5.1.1", action: "failed", diagnostic: "smtp; 550 5.1.1 <a@b.example>: unknown"))
        #expect(Self.dsn(recipient: "Action: failed\nDiagnostic-Code: smtp; mailbox unavailable") == .unrecognised(subject: "Bounce"))
    }

    @Test("of several recipients, the most serious counts")
    func mostSerious() {
        let report = Self.dsn(recipient: "Action: delayed\nStatus: 4.4.7\n\nAction: failed\nStatus: 5.1.10\n\nAction: delivered\nStatus: 2.0.0")
        #expect(report == .deliveryStatus(status: "5.1.10", action: "failed", diagnostic: nil))
        #expect(BouncePolicy.kind(of: report) == .hard)
        #expect(BouncePolicy.kind(of: Self.dsn(recipient: "Action: delivered\nStatus: 2.0.0")) == .ignored)
    }

    @Test(
        "hostile input reads as unrecognised, within its size",
        arguments: [
            "", "\r\n\r\n", "no header at all", "Subject: \u{7}bell\r\n\r\nbody",
            "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary",
            "Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 9.9.9\r\n--x--",
            "Content-Type: message/delivery-status\r\n\r\nStatus: 5.1.1",
        ]
    )
    func hostile(text: String) {
        let report = BounceReport(message: Array(text.utf8))
        guard case .unrecognised(let subject) = report else {
            Issue.record("\(report)")
            return
        }
        #expect(subject.map { !$0.contains("\u{7}") } ?? true)
    }

    @Test("deep nesting, many parts and long folded fields stay bounded")
    func bounded() {
        var nested = "Content-Type: message/delivery-status\r\n\r\nx\r\n"
        for level in 0..<50 {
            nested = "Content-Type: multipart/mixed; boundary=b\(level)\r\n\r\n--b\(level)\r\n\(nested)\r\n--b\(level)--\r\n"
        }
        #expect(BounceReport(message: Array(nested.utf8)) == .unrecognised(subject: nil))
        let many = "Content-Type: multipart/report; boundary=m\r\n\r\n" + String(repeating: "--m\r\n\r\nx\r\n", count: 10_000) + "--m--\r\n"
        #expect(MailReader(Array(many.utf8)).parts.count == MailReader.maximumParts)
        let folded = "Subject: a\r\n" + String(repeating: " b\r\n", count: 200_000) + "\r\nbody"
        guard case .unrecognised(let subject) = BounceReport(message: Array(folded.utf8)) else {
            Issue.record("folded")
            return
        }
        #expect(subject?.count == 200)
    }

    @Test("recipient groups wherever a report puts them: one block with the message's fields, none of those, blank lines first")
    func recipientGroupsAnywhere() {
        let report = BounceReport.deliveryStatus(status: "5.1.1", action: "failed", diagnostic: "smtp; 550 5.1.1 no such user")
        for body in [
            // AOL: one block.
            "Reporting-MTA: dns; mx.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user",
            // McAfee: no per-message group.
            "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user",
            // SurfControl: blank lines before it.
            "\n\n\nReporting-MTA: dns; mx.example\n\n\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user",
        ] {
            let text =
                "Subject: Bounce\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"z\"\n\n--z\nContent-Type: message/delivery-status\n\n\(body)\n\n--z--\n"
            #expect(BounceReport(message: Array(text.utf8)) == report, "\(body)")
        }
    }

    @Test("a report inside multipart/mixed, and one whose closing boundary is missing, are read")
    func nestedAndUnclosed() {
        let nested = """
            Subject: Fwd: bounce
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: text/plain

            See below.
            --outer
            Content-Type: multipart/report; report-type=delivery-status; boundary="inner"

            --inner
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example

            Action: failed
            Status: 5.1.10
            --inner--
            --outer--
            """
        #expect(BounceReport(message: Array(nested.utf8)) == .deliveryStatus(status: "5.1.10", action: "failed", diagnostic: nil))
        let unclosed = "Content-Type: multipart/report; boundary=z\n\n--z\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.2.2\n"
        #expect(BounceReport(message: Array(unclosed.utf8)) == .deliveryStatus(status: "5.2.2", action: "failed", diagnostic: nil))
    }

    @Test("feedback that is no complaint (RFC 6591 auth-failure, not-spam, virus) is recorded and ignored")
    func feedbackThatIsNoComplaint() {
        for (type, expected) in [
            ("abuse", BounceReport.complaint(feedbackType: "abuse")), ("auth-failure", .feedback(type: "auth-failure")),
            ("not-spam", .feedback(type: "not-spam")), ("virus", .feedback(type: "virus")), ("opt-out", .complaint(feedbackType: "opt-out")),
        ] {
            let text =
                "Content-Type: multipart/report; report-type=feedback-report; boundary=f\n\n--f\nContent-Type: message/feedback-report\n\nFeedback-Type: \(type)\nVersion: 1\n--f--\n"
            let report = BounceReport(message: Array(text.utf8))
            #expect(report == expected)
            #expect(BouncePolicy.kind(of: report) == (type == "abuse" || type == "opt-out" ? .complaint : .ignored))
        }
    }

    @Test("Outlook.com's feedback loop (JMRP), with no feedback-report part, is a complaint; the same message without its header is not")
    func microsoftFeedbackLoop() {
        let jmrp = { (header: String) in
            """
            From: staff@hotmail.com
            Subject: complaint about message from 192.0.2.222
            Content-Type: multipart/mixed; boundary="j"

            --j
            Content-Type: message/rfc822

            \(header)From: Nyheter <nyheter@example.se>
            Subject: Nummer 1

            Text
            --j--
            """
        }
        #expect(BounceReport(message: Array(jmrp("X-HmXmrOriginalRecipient: anna@example.com\n").utf8)) == .complaint(feedbackType: "abuse"))
        #expect(BouncePolicy.kind(of: BounceReport(message: Array(jmrp("").utf8))) == .ignored)
    }

    @Test(
        "where the words contradict a generic code, the words decide",
        arguments: [
            ("5.1.1", "smtp; 550 5.1.1 user has sent to too many recipients this hour", BounceKind.transient),
            ("5.1.1", "smtp; 550 5.1.1 Refused due to recipient preferences", .policy),
            ("5.0.0", "smtp; 550 Unknown user kijitora@example.jp", .hard),
            ("5.5.0", "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable", .hard),
            ("5.0.0", "smtp; 550 Message rejected as spam", .policy),
            ("5.2.2", "smtp; 552 5.2.2 Mailbox full", .soft),
            ("5.4.7", "Delivery time expired", .transient),
            ("4.1.1", "smtp; 450 4.1.1 user unknown", .transient),
            ("5.0.0", "smtp; 550 Host unknown", .hard),
        ]
    )
    func wordsDecide(status: String, diagnostic: String, kind: BounceKind) {
        #expect(BouncePolicy.kind(status: status, diagnostic: diagnostic) == kind)
    }

    @Test("prose bounces: Exim (marked auto-replied), qmail, Gmail; a person's reply with a bounce-like word is still no bounce")
    func prose() {
        let exim = """
            From: Mail Delivery System <Mailer-Daemon@example.org>
            Subject: Mail delivery failed: returning message to sender
            Auto-Submitted: auto-replied

            This message was created automatically by mail delivery software.

            A message that you sent could not be delivered to one or more of its
            recipients. This is a permanent error. The following address(es) failed:

              anna@example.se
                host mx.example.se [192.0.2.1]
                SMTP error from remote mail server after RCPT TO:<anna@example.se>:
                550 5.1.1 <anna@example.se>: Recipient address rejected: User unknown

            ------ This is a copy of the message, including all the headers. ------

            Subject: Nyheter 550 5.7.1 spam
            """
        let report = BounceReport(message: Array(exim.utf8))
        #expect(BouncePolicy.kind(of: report) == .hard, "\(report)")
        let qmail = """
            From: MAILER-DAEMON@mx.example.jp
            Subject: failure notice

            Hi. This is the qmail-send program at mx.example.jp.
            I'm afraid I wasn't able to deliver your message to the following addresses.

            <bo@example.jp>:
            Sorry, I couldn't find any host named example.jp. (#5.1.2)

            --- Below this line is a copy of the message.
            """
        #expect(
            BounceReport(message: Array(qmail.utf8))
                == .deliveryStatus(status: "5.1.2", action: "failed", diagnostic: "Sorry, I couldn't find any host named example.jp. (#5.1.2)")
        )
        let reply = "From: Anna <anna@example.se>\nSubject: Re: delivery of the chairs\n\nThe delivery failed, the user unknown to me."
        #expect(BounceReport(message: Array(reply.utf8)) == .unrecognised(subject: "Re: delivery of the chairs"))
    }

    @Test(
        "every real bounce, mutated five ways (bytes flipped, cut, boundaries doubled or lost, parts nested, headers lost), reads without a crash and within its bounds"
    )
    func mutatedRealBounces() throws {
        let directory = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces/set-of-emails")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }.sorted()
        #expect(files.count >= 600)
        var generator = SplitMix64(state: 35)
        var read = 0
        for file in files {
            let original = [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
            // One round of each mutation: more made this the suite's heaviest test beside timing-sensitive ones.
            for round in 0..<5 {
                var bytes = original
                switch round % 5 {
                case 0:  // flip bytes
                    for _ in 0..<16 where !bytes.isEmpty {
                        bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                    }
                case 1:  // cut anywhere
                    bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1))))
                case 2:  // every boundary line doubled, or dropped
                    let text = String(decoding: bytes, as: UTF8.self)
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    bytes = Array(
                        lines.flatMap { $0.hasPrefix("--") ? (generator.next() % 2 == 0 ? [$0, $0] : []) : [$0] }.joined(separator: "\n").utf8
                    )
                case 3:  // wrapped in multiparts, deeper than the reader goes
                    for level in 0..<Int(generator.next() % 8) {
                        bytes =
                            Array("Content-Type: multipart/mixed; boundary=w\(level)\r\n\r\n--w\(level)\r\n".utf8) + bytes
                            + Array("\r\n--w\(level)--\r\n".utf8)
                    }
                default:  // a slice from the middle, headers lost
                    let start = Int(generator.next() % UInt64(bytes.count + 1))
                    bytes = Array(bytes[start...])
                }
                let report = BounceReport(message: bytes)
                read += 1
                switch report {
                case .deliveryStatus(let status, let action, let diagnostic):
                    #expect(status.count <= 12 && (action?.count ?? 0) <= 32 && (diagnostic?.count ?? 0) <= 300, "\(file) \(round)")
                case .complaint(let type), .feedback(let type):
                    #expect(type.count <= 32)
                case .unrecognised(let subject):
                    #expect((subject?.count ?? 0) <= 200)
                case .autoReply:
                    break
                }
            }
        }
        #expect(read == files.count * 5)
    }

    /// A DSN with one per-message group and the given per-recipient groups.
    static func dsn(recipient: String) -> BounceReport {
        let text = """
            Subject: Bounce
            Content-Type: multipart/report; report-type=delivery-status; boundary="z"

            --z
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example

            \(recipient)

            --z--

            """
        return BounceReport(message: Array(text.utf8))
    }
}
