import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert queue`: what the outbox holds.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the outbox: messages due, leased, retrying and failed, with the last SMTP reply; and webhook events.",
        subcommands: [Overview.self, Show.self, Retry.self],
        defaultSubcommand: Overview.self
    )

    struct Overview: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "overview",
            abstract: "Counts by state and the messages waiting to be sent."
        )

        @Option(help: "Show at most this many waiting messages.")
        var limit: Int = 50

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            let overview = try await store.queueOverview(now: Date(), limit: max(limit, 0))
            print(
                "due \(overview.due), scheduled \(overview.scheduled), leased \(overview.leased), "
                    + "retrying \(overview.retrying), sent \(overview.sent), failed \(overview.failed), skipped \(overview.skipped)"
            )
            // Mail waits: is it waiting for the relay? Asked from here, as the mailer asks.
            if overview.due + overview.leased + overview.retrying > 0 {
                print(Self.relayLine(runtime.settings.smtp))
            }
            for (title, entries) in [("Waiting", overview.waiting), ("Recently failed", overview.recentFailures)]
            where !entries.isEmpty {
                var rows = [["ID", "KIND", "LIST", "TO", "STATUS", "DUE", "ATTEMPTS", "LAST REPLY"]]
                for entry in entries {
                    let message = entry.message
                    rows.append([
                        String(message.id ?? 0), message.kind.rawValue, entry.listSlug, entry.address,
                        message.status.rawValue, message.dueAt.cliText, String(message.attempts), message.lastReply ?? "-",
                    ])
                }
                print("")
                print(title + ":")
                print(Table.render(rows))
            }
            if !overview.waiting.isEmpty {
                print("")
                print("See a message as it will be sent: kuvert queue show ID")
            }
            try await printWebhooks(store.webhookOverview(limit: max(limit, 0)))
        }

        /// Whether the relay answers a NOOP now; when it does not, the mailers
        /// hold their mail without spending its attempts.
        static func relayLine(_ smtp: SMTPSettings) -> String {
            let problem: String?
            do { problem = try SMTPTransport(settings: smtp).relayProblem() } catch { problem = "\(error)" }
            guard let problem else { return "relay \(smtp.url): answers" }
            return "relay \(smtp.url): \(LogRedaction.addresses(in: problem)); "
                + "mailers hold waiting mail without spending its attempts until it answers"
        }

        /// The webhook outbox, when it has held anything: counts and the events waiting.
        private func printWebhooks(_ webhooks: WebhookOverview) {
            guard !webhooks.counts.isEmpty else { return }
            print("")
            print("Webhooks: " + WebhookEvent.Status.allCases.map { "\($0.rawValue) \(webhooks.counts[$0] ?? 0)" }.joined(separator: ", "))
            guard !webhooks.waiting.isEmpty else { return }
            var rows = [["ID", "EVENT", "LIST", "SUBSCRIPTION", "STATUS", "DUE", "ATTEMPTS", "LAST REPLY"]]
            for event in webhooks.waiting {
                rows.append([
                    String(event.id), event.kind.rawValue, event.listSlug, String(event.subscriptionId), event.status.rawValue,
                    event.dueAt.cliText, String(event.attempts), event.lastReply ?? "-",
                ])
            }
            print(Table.render(rows))
        }
    }

    struct Show: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Print one message as it will be sent.")

        @Argument(help: "The message id from 'kuvert queue'.")
        var id: Int64

        @Flag(help: "Print the HTML part after the text.")
        var html = false

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            guard let delivery = try await runtime.store.outboxDelivery(id: id) else {
                throw CommandFailure(message: "No message has id \(id).")
            }
            print(Self.statusLine(delivery.message))
            print("")
            let composer = try runtime.composer(keys: try runtime.keys(), renderer: try await runtime.renderer(Runtime.mailTemplates))
            switch try composer.compose(delivery, now: Date()) {
            case .send(let message):
                print(MailText.decoded(message.bytes, html: html))
            case .skip(let reason):
                print("Message \(id) would not be sent: \(reason).")
            case .hold:
                print("Message \(id) waits: its campaign is paused.")
            }
            let bounces = try await runtime.store.bounces(messageId: id)
            if !bounces.isEmpty {
                print("")
                print("Came back to its bounce address:")
                for event in bounces { print("  " + event.cliLine) }
            }
        }
    }

    struct Retry: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put failed messages back in the queue (after fixing what made them fail).",
            discussion: "Each goes out again with a fresh count of attempts; what no longer applies is skipped when its turn comes."
        )

        @Argument(help: "The failed message's id from 'kuvert queue'.")
        var id: Int64?

        @Flag(help: "Every failed message.")
        var failed = false

        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard (id == nil) != (!failed) else {
                throw ValidationError("Give a message id or --failed, not both and not neither.")
            }
        }

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            let ids = try await store.retryFailed(id: failed ? nil : id, actor: "cli", now: Date())
            if let id, !failed, ids.isEmpty {
                let message = try await store.outboxDelivery(id: id)?.message
                throw CommandFailure(
                    message: message.map { "Message \(id) has not failed (it is \($0.status.rawValue)): nothing to retry." }
                        ?? "No message has id \(id)."
                )
            }
            print(ids.isEmpty ? "No failed messages." : "Queued again: \(ids.count) message\(ids.count == 1 ? "" : "s").")
        }
    }
}

extension Queue.Show {
    /// Where a message stands: sent when and with what reply, or what it waits for.
    static func statusLine(_ message: OutboxMessage) -> String {
        let head = "Message \(message.id ?? 0), \(message.kind.rawValue): "
        let attempts = "\(message.attempts) attempt\(message.attempts == 1 ? "" : "s")"
        let reply = message.lastReply.map { "; reply: \($0)" } ?? ""
        switch message.status {
        case .sent:
            return head + "sent \(message.sentAt.map { $0.cliText + "Z" } ?? "") after \(attempts)\(reply)"
        case .failed:
            return head + "failed after \(attempts)\(reply)"
        case .skipped:
            return head + "skipped\(reply)"
        case .queued, .leased:
            return head + "\(message.status.rawValue), due \(message.dueAt.cliText)Z, \(attempts) so far\(reply)"
        }
    }
}
