import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("MIME messages and the libcurl SMTP transport, against a real SMTP server")
struct MailTransportTests {
    let from = Mailbox(name: "Föreningen Kuvert, nyheter", address: "nyheter@example.se")

    func message(to: String, subject: String = "Välkommen, Åsa & Örjan: räksmörgås på fredag!") -> MailMessage {
        MailMessage(
            from: from,
            to: Mailbox(name: nil, address: to),
            replyTo: Mailbox(name: "Svar", address: "svar@example.se"),
            subject: subject,
            text: "Hej!\n\nÅtta år av nyhetsbrev. " + String(repeating: "Lång rad utan radbrytning ", count: 12)
                + "\n.\nEn rad som bara är en punkt står ovan.\nSlut med mellanslag   ",
            html: "<p>Hej!</p><p>Åtta år: <a href=\"https://example.se/?a=1&amp;b=2\">länk</a></p>",
            headers: [(name: "Auto-Submitted", value: "auto-generated")]
        )
    }

    @Test("beforeEnd runs once, while the server has not got the message, large or small; the message then arrives whole")
    func beforeEnd() throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        // Two sizes: one read of libcurl's upload buffer, and several.
        for (index, size) in [100, 300_000].enumerated() {
            var sent = message(to: "asa@example.se")
            sent.text += String(repeating: "x", count: size)
            var calls: [Int] = []
            let outcome = transport.send(from: from.address, to: "asa@example.se", message: try sent.rendered()) {
                calls.append(server.messages().count)
            }
            #expect(outcome.kind == .delivered)
            #expect(calls == [index], "the server had \(calls) messages when the end was held")
            #expect(server.messages().count == index + 1)
        }
    }

    @Test("a message with Swedish headers and two parts arrives and parses cleanly")
    func roundTrip() async throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        let sent = message(to: "asa@example.se")
        let outcome = transport.send(from: from.address, to: "asa@example.se", message: try sent.rendered())
        #expect(outcome.kind == .delivered)
        #expect(outcome.code == 250)
        #expect(outcome.reply.hasPrefix("250 2.0.0 Queued as"))

        let received = try #require(server.messages().first)
        #expect(received.from == "nyheter@example.se")
        #expect(received.to == ["asa@example.se"])
        let mail = try received.parsed()
        #expect(mail.defects.isEmpty)
        #expect(mail.headers["Subject"] == sent.subject)
        #expect(mail.headers["From"] == "\"Föreningen Kuvert, nyheter\" <nyheter@example.se>")
        #expect(mail.headers["To"] == "asa@example.se")
        #expect(mail.headers["Reply-To"] == "Svar <svar@example.se>")
        #expect(mail.headers["Auto-Submitted"] == "auto-generated")
        #expect(mail.headers["MIME-Version"] == "1.0")
        #expect(mail.headers["Message-ID"]?.hasSuffix("@example.se>") == true)
        #expect(mail.headers["Date"]?.hasSuffix("+0000") == true)
        #expect(mail.content_type == "multipart/alternative")
        let text = try #require(mail.part("text/plain"))
        #expect(text.charset == "utf-8")
        #expect(text.transfer_encoding == "quoted-printable")
        // The CRLF before a boundary belongs to the boundary (RFC 2046), so the part ends without one.
        #expect(text.content == sent.text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(try #require(mail.part("text/html")).content.contains("Åtta år: <a href=\"https://example.se/?a=1&amp;b=2\">länk</a>"))
        #expect(mail.max_line_length <= 78)
        #expect(!mail.bare_lf)
    }

    @Test("a line break in any header value is refused before anything is sent")
    func headerInjection() throws {
        var injected = message(to: "asa@example.se", subject: "Hej\r\nBcc: victim@example.com")
        #expect(throws: MailMessage.Problem.headerInjection(header: "Subject")) { try injected.rendered() }
        injected = message(to: "asa@example.se")
        injected.from = Mailbox(name: "Evil\nBcc: x@example.com", address: "a@example.se")
        #expect(throws: MailMessage.Problem.headerInjection(header: "From")) { try injected.rendered() }
        injected = message(to: "asa@example.se")
        injected.headers = [(name: "List-Id", value: "news\r\nX-Evil: 1")]
        #expect(throws: MailMessage.Problem.headerInjection(header: "List-Id")) { try injected.rendered() }
        #expect(throws: MailMessage.Problem.self) { try Mailbox(parsing: "Kuvert <a@b.se>\r\nBcc: c@d.se") }
    }

    @Test("one session reuses its connection across messages")
    func connectionReuse() async throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        for index in 0..<20 {
            let outcome = transport.send(
                from: from.address,
                to: "reader\(index)@example.se",
                message: try message(to: "reader\(index)@example.se").rendered()
            )
            #expect(outcome.kind == .delivered)
        }
        #expect(server.messages().count == 20)
        #expect(server.connectionCount == 1)
    }

    @Test("451 is transient, 550 permanent, and the session goes on afterwards")
    func replyClasses() async throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        let deferred = transport.send(from: from.address, to: "defer@example.se", message: try message(to: "defer@example.se").rendered())
        #expect(deferred.kind == .transient)
        #expect(deferred.code == 451)
        #expect(deferred.reply.contains("Try again later"))
        let rejected = transport.send(from: from.address, to: "reject@example.se", message: try message(to: "reject@example.se").rendered())
        #expect(rejected.kind == .permanent)
        #expect(rejected.code == 550)
        #expect(rejected.reply.contains("No such user"))
        let retried = transport.send(from: from.address, to: "defer@example.se", message: try message(to: "defer@example.se").rendered())
        #expect(retried.kind == .delivered)
        #expect(server.messages().map(\.to) == [["defer@example.se"]])
    }

    @Test("a refusal after DATA fails that message only; the next starts a new connection")
    func refusalAfterData() async throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        let refused = transport.send(from: from.address, to: "dataerror@example.se", message: try message(to: "dataerror@example.se").rendered())
        #expect(refused.kind == .permanent)
        #expect(refused.code == 500)
        for index in 0..<3 {
            let next = transport.send(
                from: from.address,
                to: "next\(index)@example.se",
                message: try message(to: "next\(index)@example.se").rendered()
            )
            #expect(next.kind == .delivered, "\(next)")
        }
        #expect(server.messages().count == 3)
        #expect(server.connectionCount == 2)
    }

    @Test("UTF-8 local parts go out with SMTPUTF8 to a server that offers it")
    func smtputf8() async throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url))
        let outcome = transport.send(from: from.address, to: "örjan@example.se", message: try message(to: "örjan@example.se").rendered())
        #expect(outcome.kind == .delivered, "\(outcome)")
        #expect(server.messages().first?.to == ["örjan@example.se"])
    }

    @Test("AUTH with the configured credentials; a wrong password is transient, never a bounce")
    func authentication() async throws {
        let server = try SMTPTestServer(credentials: "kuvert:s3cret")
        let good = try SMTPTransport(settings: SMTPSettings(url: server.url, username: "kuvert", password: "s3cret"))
        #expect(good.send(from: from.address, to: "a@example.se", message: try message(to: "a@example.se").rendered()).kind == .delivered)
        let wrong = try SMTPTransport(settings: SMTPSettings(url: server.url, username: "kuvert", password: "wrong"))
        let denied = wrong.send(from: from.address, to: "b@example.se", message: try message(to: "b@example.se").rendered())
        #expect(denied.kind == .transient)
        #expect(denied.code == 535, "\(denied)")
        #expect(BouncePolicy.kind(of: denied) == .transient)
        let anonymous = try SMTPTransport(settings: SMTPSettings(url: server.url))
        let refused = anonymous.send(from: from.address, to: "c@example.se", message: try message(to: "c@example.se").rendered())
        #expect(refused.kind == .transient)
        #expect(refused.code == 530)
        #expect(server.messages().flatMap(\.to) == ["a@example.se"])
        #expect(server.events().contains("auth ok") && server.events().contains("auth denied"))
    }

    @Test(
        "a refusal at send time is judged by its enhanced status code, else by its words, else by its mailbox reply code",
        arguments: [
            (550, "550 5.1.1 No such user", BounceKind.hard), (550, "550 5.1.10 Null MX", .hard), (550, "550 No such user", .hard),
            (550, "550 Message refused", .soft), (550, "550 5.1.1 too many recipients this hour", .transient),
            (553, "553 Bad address", .soft), (552, "552 5.2.2 Mailbox full", .soft), (550, "550 5.7.1 Policy refusal", .policy),
            (554, "554 5.7.1 Spam", .policy), (554, "554 Transaction failed", .policy), (500, "500 5.5.1 Syntax", .soft),
            (451, "451 4.2.1 Try later", .transient), (250, "250 OK", .ignored),
        ]
    )
    func refusalKinds(code: Int, reply: String, kind: BounceKind) {
        #expect(BouncePolicy.kind(of: SendOutcome(code: code, reply: reply)) == kind)
    }

    @Test("no server is a transient failure that names the cause")
    func connectionRefused() throws {
        let server = try SMTPTestServer()
        let url = server.url
        server.stop()
        let transport = try SMTPTransport(settings: SMTPSettings(url: url, connectTimeout: 2))
        let outcome = transport.send(from: from.address, to: "a@example.se", message: try message(to: "a@example.se").rendered())
        #expect(outcome.kind == .transient)
        #expect(outcome.code == nil)
        #expect(outcome.reply.contains("curl 7"))
    }

    @Test("required TLS refuses a server that offers no STARTTLS")
    func requiredTLS() throws {
        let server = try SMTPTestServer()
        let transport = try SMTPTransport(settings: SMTPSettings(url: server.url, requireTLS: true))
        let outcome = transport.send(from: from.address, to: "a@example.se", message: try message(to: "a@example.se").rendered())
        #expect(outcome.kind == .transient)
        #expect(server.messages().isEmpty)
    }

    @Test("long subjects fold into encoded words that never split a character")
    func longSubject() throws {
        let subject = String(repeating: "Räksmörgås ", count: 20)
        let rendered = String(decoding: try message(to: "a@example.se", subject: subject).rendered(), as: UTF8.self)
        let headerLines = rendered.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(headerLines.allSatisfy { $0.utf8.count <= 78 })
        #expect(headerLines.contains { $0.hasPrefix("Subject: =?UTF-8?B?") })
    }
}
