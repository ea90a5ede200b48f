import Crypto
import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Logging
import ServiceLifecycle
import Testing

@testable import KuvertCore
@testable import KuvertLMTP
@testable import KuvertSQLite

@Suite("LMTP sessions as a state machine")
struct LMTPSessionTests {
    @Test("commands out of order get 503; LHLO resets; QUIT closes")
    func order() {
        var session = LMTPSession(hostname: "b.example", recipientId: { $0 == "m1-x@b.example" ? 1 : nil })
        #expect(session.receive(Array("MAIL FROM:<>".utf8)) == .reply("503 5.5.1 Say LHLO first"))
        #expect(session.receive(Array("LHLO a".utf8))?.isReply(starting: "250-b.example") == true)
        #expect(session.receive(Array("RCPT TO:<m1-x@b.example>".utf8)) == .reply("503 5.5.1 Need MAIL first"))
        #expect(session.receive(Array("mail from:<x@y>".utf8)) == .reply("250 2.1.0 Sender OK"))
        #expect(session.receive(Array("MAIL FROM:<x@y>".utf8)) == .reply("503 5.5.1 Nested MAIL command"))
        #expect(session.receive(Array("rcpt to: <m1-x@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("DATA".utf8)) == .reply("354 Send the message; end with <CRLF>.<CRLF>"))
        #expect(session.receive(Array("..leading dot".utf8)) == nil)
        #expect(session.receive(Array(".".utf8)) == .deliver(message: Array(".leading dot\r\n".utf8), recipients: [1]))
        #expect(session.receive(Array("QUIT".utf8)) == .close("221 2.0.0 Bye"))
    }

    @Test("too many recipients get 452")
    func recipientLimit() {
        var limits = LMTPSession.Limits()
        limits.recipients = 2
        var session = LMTPSession(hostname: "b.example", limits: limits, recipientId: { _ in 7 })
        _ = session.receive(Array("LHLO a".utf8))
        _ = session.receive(Array("MAIL FROM:<>".utf8))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("250 2.1.5 Recipient OK"))
        #expect(session.receive(Array("RCPT TO:<a@b.example>".utf8)) == .reply("452 4.5.3 Too many recipients"))
        _ = session.receive(Array("DATA".utf8))
        #expect(session.receive(Array(".".utf8)) == .deliver(message: [], recipients: [7, 7]))
    }
}
