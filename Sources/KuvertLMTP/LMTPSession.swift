/// One LMTP session (RFC 2033) as a state machine, apart from the network:
/// each line in gives the replies to write, or a message to deliver. Kuvert
/// takes mail for its bounce addresses only: a recipient is accepted when
/// `recipientId` names an outbox message for it, and it never relays.
struct LMTPSession {
    /// What the connection does next.
    enum Action: Equatable {
        /// Write this reply (one line, or several joined by CRLF).
        case reply(String)
        /// Write this reply and close the connection.
        case close(String)
        /// Store `message` for each recipient, then write one reply for each, in order.
        case deliver(message: [UInt8], recipients: [Int64])
    }

    struct Limits {
        /// The largest message (after dot-unstuffing) taken.
        var messageSize = 4 << 20
        /// Recipients in one transaction.
        var recipients = 100
        /// A command line, without its line break (RFC 5321: 512 with it).
        var commandLine = 510
        /// Bad commands before the session is closed.
        var errors = 10
    }

    let hostname: String
    let limits: Limits
    private let recipientId: (String) -> Int64?

    private var greeted = false
    private var sender: String?
    private var recipients: [Int64] = []
    private var inData = false
    private var data: [UInt8] = []
    private var dataProblem: String?
    private var errors = 0

    init(hostname: String, limits: Limits = Limits(), recipientId: @escaping (String) -> Int64?) {
        self.hostname = hostname
        self.limits = limits
        self.recipientId = recipientId
    }

    var greeting: String { "220 \(hostname) LMTP Kuvert ready" }

    /// The answer to one line (without its line break); `tooLong` when the
    /// line went past the framing limit and was cut.
    mutating func receive(_ line: [UInt8], tooLong: Bool = false) -> Action? {
        inData ? dataLine(line, tooLong: tooLong) : command(line, tooLong: tooLong)
    }

    private mutating func dataLine(_ line: [UInt8], tooLong: Bool) -> Action? {
        if line == [UInt8(ascii: ".")] && !tooLong {
            defer { resetTransaction() }
            if let dataProblem {
                return .reply(Array(repeating: dataProblem, count: recipients.count).joined(separator: "\r\n"))
            }
            return .deliver(message: data, recipients: recipients)
        }
        guard dataProblem == nil else { return nil }
        if tooLong {
            dataProblem = "500 5.5.2 A line of the message is too long"
            data = []
            return nil
        }
        let content = line.first == UInt8(ascii: ".") ? line.dropFirst() : line[...]
        guard data.count + content.count + 2 <= limits.messageSize else {
            dataProblem = "552 5.3.4 The message is larger than \(limits.messageSize) octets"
            data = []
            return nil
        }
        data.append(contentsOf: content)
        data.append(contentsOf: [13, 10])
        return nil
    }

    private mutating func command(_ bytes: [UInt8], tooLong: Bool) -> Action? {
        guard !tooLong, bytes.count <= limits.commandLine else { return error("500 5.5.2 Line too long") }
        let line = String(decoding: bytes, as: UTF8.self)
        let verb = line.prefix { $0 != " " }.uppercased()
        let argument = line.dropFirst(verb.count).drop { $0 == " " }
        switch verb {
        case "LHLO":
            guard !argument.isEmpty else { return error("501 5.5.4 LHLO needs a domain") }
            greeted = true
            resetTransaction()
            return .reply(
                ["250-\(hostname)", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SIZE \(limits.messageSize)"]
                    .joined(separator: "\r\n")
            )
        case "HELO", "EHLO":
            return error("500 5.5.1 This is LMTP: say LHLO")
        case "MAIL":
            guard greeted else { return error("503 5.5.1 Say LHLO first") }
            guard sender == nil else { return error("503 5.5.1 Nested MAIL command") }
            guard let (path, parameters) = Self.path(argument, keyword: "FROM:") else {
                return error("501 5.5.4 Syntax: MAIL FROM:<address>")
            }
            for parameter in parameters where parameter.uppercased().hasPrefix("SIZE=") {
                if let size = Int(parameter.dropFirst(5)), size > limits.messageSize {
                    return .reply("552 5.3.4 The message is larger than \(limits.messageSize) octets")
                }
            }
            sender = path
            return .reply("250 2.1.0 Sender OK")
        case "RCPT":
            guard sender != nil else { return error("503 5.5.1 Need MAIL first") }
            guard let (path, _) = Self.path(argument, keyword: "TO:") else {
                return error("501 5.5.4 Syntax: RCPT TO:<address>")
            }
            guard recipients.count < limits.recipients else { return .reply("452 4.5.3 Too many recipients") }
            guard let id = recipientId(path) else { return .reply("550 5.1.1 No such recipient here") }
            recipients.append(id)
            return .reply("250 2.1.5 Recipient OK")
        case "DATA":
            guard sender != nil, !recipients.isEmpty else { return error("503 5.5.1 No valid recipients") }
            guard argument.isEmpty else { return error("501 5.5.4 DATA takes no argument") }
            inData = true
            return .reply("354 Send the message; end with <CRLF>.<CRLF>")
        case "RSET":
            resetTransaction()
            return .reply("250 2.0.0 OK")
        case "NOOP":
            return .reply("250 2.0.0 OK")
        case "QUIT":
            return .close("221 2.0.0 Bye")
        case "VRFY", "EXPN", "ETRN", "STARTTLS", "AUTH", "BDAT", "TURN":
            return error("502 5.5.1 Not implemented")
        default:
            return error("500 5.5.2 Unknown command")
        }
    }

    private mutating func error(_ reply: String) -> Action {
        errors += 1
        return errors >= limits.errors ? .close("421 4.7.0 Too many errors; closing") : .reply(reply)
    }

    private mutating func resetTransaction() {
        sender = nil
        recipients = []
        inData = false
        data = []
        dataProblem = nil
    }

    /// The address of `FROM:<path> [parameters]` or `TO:<path> [parameters]`
    /// (the keyword in any case, a space after the colon tolerated).
    static func path(_ argument: Substring, keyword: String) -> (String, [Substring])? {
        guard argument.uppercased().hasPrefix(keyword) else { return nil }
        let rest = argument.dropFirst(keyword.count).drop { $0 == " " }
        guard rest.first == "<", let close = rest.firstIndex(of: ">") else { return nil }
        let path = String(rest[rest.index(after: rest.startIndex)..<close])
        guard !path.contains(where: { $0 == "<" || $0.isWhitespace }) else { return nil }
        let parameters = rest[rest.index(after: close)...].split(separator: " ")
        return (path, parameters)
    }
}
