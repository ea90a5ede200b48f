import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert campaign`: write, check, send and steer newsletter issues.
struct CampaignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Create a newsletter issue from Markdown, preview and test it, send it, and follow its delivery.",
        subcommands: [
            Create.self, Edit.self, Delete.self, Preview.self, Test.self, Send.self, Status.self, Pause.self, Resume.self,
            Cancel.self,
        ]
    )

    struct Create: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Create a draft campaign and print its id.")

        @Option(help: "The list to send to.") var list: String
        @Option(help: "The subject line.") var subject: String
        @Option(help: "Markdown file with the body; it goes into the list's newsletter template.") var body: String
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            do { _ = try Campaign.validSubject(subject) } catch { throw ValidationError("--subject: \(error)") }
        }

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            let draft = try Campaign.draft(subject: subject, markdown: try TextFile.read(body, as: "body file"), now: Date())
            let campaign = try await store.createCampaign(draft, listSlug: list, actor: "cli")
            print(campaign.id ?? 0)
        }
    }

    struct Edit: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Change a draft's subject or body (never a campaign that was queued).")

        @Argument(help: "The campaign id.") var id: Int64
        @Option(help: "The new subject line.") var subject: String?
        @Option(help: "Markdown file with the new body.") var body: String?
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard subject != nil || body != nil else { throw ValidationError("Give --subject, --body or both.") }
            if let subject { do { _ = try Campaign.validSubject(subject) } catch { throw ValidationError("--subject: \(error)") } }
        }

        func run(with runtime: Runtime) async throws {
            let newBody = try body.map { CampaignBody(markdown: try TextFile.read($0, as: "body file")) }
            let store = runtime.store
            _ = try await store.editDraft(
                id: id,
                subject: try subject.map(Campaign.validSubject),
                body: newBody,
                now: Date(),
                actor: "cli"
            )
            print("Campaign \(id) changed.")
        }
    }

    struct Delete: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a draft and its test copies (never a campaign that was queued).")

        @Argument(help: "The campaign id.") var id: Int64
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            try await runtime.store.deleteDraft(id: id, now: Date(), actor: "cli")
            print("Campaign \(id) deleted.")
        }
    }

    struct Preview: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Print a campaign as a subscriber would get it.")

        @Argument(help: "The campaign id.") var id: Int64
        @Flag(help: "Print the HTML part instead of the text.") var html = false
        @Option(help: "The language of the template: sv or en (default: the list's).") var locale: String?
        @Option(help: "A subscriber's name, to see the greeting (default: none, as for a subscriber who gave none).") var name: String?
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            if let locale { guard Language(rawValue: locale) != nil else { throw ValidationError("--locale must be sv or en.") } }
        }

        func run(with runtime: Runtime) async throws {
            guard let found = try await runtime.store.campaign(id: id) else { throw KuvertError.unknownCampaign(id) }
            let (campaign, list) = (found.campaign, found.list)
            let renderer = try await runtime.renderer(NewsletterMail.templateNames)
            let mail = try NewsletterMail.render(
                campaign,
                list: list,
                language: locale.flatMap(Language.init(rawValue:)) ?? list.language,
                name: name,
                unsubscribeURL: runtime.settings.mail.baseURL + "/unsubscribe/…",
                manageURL: runtime.settings.mail.baseURL + "/manage/…",
                isTest: false,
                renderer: renderer
            )
            print("Subject: \(mail.subject)\n")
            print(html ? mail.html : mail.text)
        }
    }

    struct Test: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one copy, marked as a test, to an address.",
            discussion:
                "The copy leaves through the outbox: a running 'kuvert serve' or 'kuvert worker' sends it. The command waits up to --wait seconds and prints the SMTP reply."
        )

        @Argument(help: "The campaign id.") var id: Int64
        @Option(help: "Where to send the test copy.") var to: String
        @Option(help: "Seconds to wait for the copy to be sent.") var wait: Int = 30
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address: EmailAddress
            do { address = try EmailAddress(to) } catch { throw ValidationError("--to: \(error)") }
            let store = runtime.store
            let messageId = try await store.queueTestMessage(campaignId: id, to: address, now: Date())
            let deadline = Date().addingTimeInterval(TimeInterval(max(wait, 0)))
            while Date() < deadline {
                if let message = try await store.outboxMessage(id: messageId), message.status != .queued, message.status != .leased {
                    guard message.status == .sent else {
                        throw CommandFailure(message: "The test copy \(message.status.rawValue): \(message.lastReply ?? "no reply").")
                    }
                    print("Sent the test copy to \(address.value): \(message.lastReply ?? "")")
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            print("Queued the test copy as message \(messageId); it goes out when a 'kuvert serve' or 'kuvert worker' runs.")
        }
    }

    struct Send: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue one message per active subscriber of the list, now or at a time.",
            discussion: "Sending again queues only subscribers who have no message of this campaign yet."
        )

        @Argument(help: "The campaign id.") var id: Int64
        @Option(help: "When to send, as ISO 8601 such as 2026-12-01T08:00:00Z.") var at: String?
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            var sendAt = Date()
            if let at {
                guard let date = InternetTime.parse(at) else {
                    throw ValidationError("--at must be an ISO 8601 time such as 2026-12-01T08:00:00Z, not '\(at)'.")
                }
                sendAt = date
            }
            let store = runtime.store
            let queued = try await store.queueCampaign(id: id, sendAt: sendAt, now: Date(), batchSize: Campaign.queueBatchSize, actor: "cli")
            print("Queued \(queued) message\(queued == 1 ? "" : "s") for campaign \(id), due \(sendAt.cliText)Z.")
        }
    }

    struct Status: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Show queued, sent and failed counts, rate and time left.")

        @Argument(help: "The campaign id; all recent campaigns when left out.") var id: Int64?
        @Flag(help: "Keep showing progress until the campaign is done (a progress bar on a terminal).") var watch = false
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            let terminal = isatty(STDOUT_FILENO) == 1
            var drawn = 0
            while true {
                let progress = try await store.campaignProgress(id: id, now: Date())
                if let id, progress.isEmpty { throw KuvertError.unknownCampaign(id) }
                var lines = progress.map { $0.statusLine(bar: watch && terminal, now: Date()) }
                if watch && terminal {
                    // Redraw in place: back to the first line drawn, clear to the end
                    // of the screen. Each line is cut to the terminal's width, so none
                    // wraps and leaves a part behind.
                    let width = Self.terminalWidth()
                    lines = lines.map { $0.count < width ? $0 : String($0.prefix(width - 2)) + "…" }
                    let back = drawn > 1 ? "\u{1B}[\(drawn - 1)A" : ""
                    FileHandle.standardOutput.write(Data(("\r" + back + "\u{1B}[J" + lines.joined(separator: "\n")).utf8))
                    drawn = lines.count
                } else {
                    print(lines.isEmpty ? "No campaigns yet." : lines.joined(separator: "\n"))
                }
                guard watch, progress.contains(where: { $0.remaining > 0 && $0.campaign.status != .cancelled }) else { break }
                try await Task.sleep(for: .seconds(1))
            }
            if watch && terminal { print("") }
        }

        /// The terminal's columns (80 when it does not say).
        static func terminalWidth() -> Int {
            var size = winsize()
            guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 10 else { return 80 }
            return Int(size.ws_col)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold back a campaign's unsent messages until resumed.")
        @Argument(help: "The campaign id.") var id: Int64
        @OptionGroup var options: ConfigurationOptions
        func run() async throws { try await change(id, to: .paused, options: options, done: "paused") }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused campaign's messages go again.")
        @Argument(help: "The campaign id.") var id: Int64
        @OptionGroup var options: ConfigurationOptions
        func run() async throws { try await change(id, to: .sending, options: options, done: "resumed") }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a campaign; its unsent messages are skipped.")
        @Argument(help: "The campaign id.") var id: Int64
        @OptionGroup var options: ConfigurationOptions
        func run() async throws { try await change(id, to: .cancelled, options: options, done: "cancelled") }
    }

    static func change(_ id: Int64, to status: Campaign.Status, options: ConfigurationOptions, done: String) async throws {
        try await Runtime.with(try options.settings(), schema: .requireCurrent) { runtime in
            _ = try await runtime.store.changeCampaign(id: id, to: status, now: Date(), actor: "cli")
        }
        print("Campaign \(id) \(done).")
    }
}
