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
