/// One SMTP session that sends messages one after another over a connection it
/// keeps open. Sessions are confined to one thread and are not `Sendable`.
public protocol MailTransport: AnyObject {
    /// Sends one message to one recipient, blocking until the server answers.
    /// `beforeEnd` runs once, on the calling thread, just before the message's
    /// last bytes go to the server: until it returns, the server cannot take
    /// the message (the mailer waits there for the previous message's record).
    func send(from: String, to: String, message: [UInt8], beforeEnd: () -> Void) -> SendOutcome

    /// Why the relay cannot be reached now (a connection of its own that says
    /// no more than NOOP), or nil when it answers. Asked after a send failed
    /// without a reply, to tell a relay that is down from a message that failed.
    func relayProblem() -> String?
}

extension MailTransport {
    /// A transport that cannot probe its server counts every failure against the message.
    public func relayProblem() -> String? { nil }

    /// Sends one message with nothing to wait for before its end.
    public func send(from: String, to: String, message: [UInt8]) -> SendOutcome {
        send(from: from, to: to, message: message, beforeEnd: {})
    }
}
