/// What became of one attempt to hand a message to the SMTP server.
public struct SendOutcome: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The server accepted the message (2xx after DATA).
        case delivered
        /// Try again later: a 4xx reply, a timeout or no connection.
        case transient
        /// Do not try again: a 5xx reply for this message or recipient.
        case permanent
    }

    public var kind: Kind
    /// The SMTP reply code, when the server answered.
    public var code: Int?
    /// The server's reply line, or what went wrong with the connection.
    public var reply: String

    public init(kind: Kind, code: Int?, reply: String) {
        self.kind = kind
        self.code = code
        self.reply = reply
    }

    /// The outcome for a server reply code: 2xx delivered, 5xx permanent,
    /// anything else transient. Authentication replies (530, 535) are transient
    /// even though they are 5xx: they say the sender's configuration is wrong,
    /// not the message, and sending should resume once it is fixed.
    public init(code: Int, reply: String) {
        switch code {
        case 200..<300: self.init(kind: .delivered, code: code, reply: reply)
        case 530, 535: self.init(kind: .transient, code: code, reply: reply)
        case 500..<600: self.init(kind: .permanent, code: code, reply: reply)
        default: self.init(kind: .transient, code: code, reply: reply)
        }
    }

    /// A failure of the relay or of how Kuvert reaches it (no connection, TLS,
    /// authentication), not of this message: every message would meet it.
    public var isRelayProblem: Bool {
        kind == .transient && (code == nil || code == 530 || code == 535)
    }

    /// No reply at all: the relay refused the connection, timed out or failed
    /// TLS (whether it is the relay or this message, a probe then tells).
    /// A refused login has a reply (535) and stays a failure of each message,
    /// so that a wrong password ends in `failed`, as the operator expects.
    public var isRelayUnreachable: Bool { kind == .transient && code == nil }

    public var description: String { "\(kind.rawValue): \(reply)" }
}
