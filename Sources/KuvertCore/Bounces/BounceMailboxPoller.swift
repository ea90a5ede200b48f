import Foundation
import Logging
import ServiceLifecycle

/// Reads `KUVERT_BOUNCE_MAILBOX` every `interval`: each message that names a
/// signed bounce address (in `Delivered-To`, `X-Original-To`, `Envelope-To` or
/// `To`) goes to `BounceIntake`, and is deleted once stored. What names none,
/// or could not be stored, stays in the mailbox for the operator (or the next pass).
///
/// Run it on one node only: two readers of one mailbox would each take a message.
public struct BounceMailboxPoller: Service {
    let settings: BounceMailboxSettings
    let intake: BounceIntake
    let logger: Logger
    /// Messages taken in one pass; the rest wait for the next.
    static let batch = 100

    public init(settings: BounceMailboxSettings, intake: BounceIntake, logger: Logger) {
        self.settings = settings
        self.intake = intake
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let pass = try await poll()
                if pass.taken + pass.left > 0 {
                    logger.info("bounce mailbox read", metadata: ["taken": "\(pass.taken)", "left": "\(pass.left)"])
                }
            } catch {
                logger.warning("bounce mailbox: \(error)")
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .milliseconds(Int(settings.interval * 1000)))
            }
        }
    }

    /// One pass over the mailbox, in one IMAP session: how many messages were
    /// taken (and deleted) and how many were left. A message that cannot be
    /// fetched (larger than a bounce can be, say) stays and the pass goes on.
    public func poll() async throws -> (taken: Int, left: Int) {
        let session = try IMAPSession(settings: settings)
        let uids = try await BlockingWork.run("kuvert-imap") { Array(try session.uids().prefix(Self.batch)) }
        var taken: [Int] = []
        for uid in uids {
            let message: [UInt8]
            do {
                message = try await BlockingWork.run("kuvert-imap") { try session.fetch(uid: uid) }
            } catch {
                logger.warning("bounce mailbox: could not fetch message \(uid); it stays", metadata: ["error": "\(error)"])
                continue
            }
            guard let messageId = recipient(of: message) else { continue }
            do {
                _ = try await intake.take(message, messageId: messageId)
                taken.append(uid)
            } catch {
                logger.warning("bounce mailbox: could not store message \(uid); it stays", metadata: ["error": "\(error)"])
            }
        }
        let deleted = taken
        try await BlockingWork.run("kuvert-imap") { try session.delete(uids: deleted) }
        return (taken.count, uids.count - taken.count)
    }

    /// The outbox message the first signed bounce address among the message's
    /// recipient fields names.
    func recipient(of message: [UInt8]) -> Int64? {
        let fields = MailReader(message).fields
        for name in ["delivered-to", "x-original-to", "envelope-to", "to"] {
            for value in fields where value.name == name {
                for word in value.value.split(whereSeparator: { " ,;<>\t".contains($0) }) where word.contains("@") {
                    if let id = intake.messageId(recipient: String(word)) { return id }
                }
            }
        }
        return nil
    }
}
