/// One SMTP session that sends messages one after another over a connection it
/// keeps open. Sessions are confined to one thread and are not `Sendable`.
public protocol MailTransport: AnyObject {
    /// Sends one message to one recipient, blocking until the server answers.
    func send(from: String, to: String, message: [UInt8]) -> SendOutcome
}
