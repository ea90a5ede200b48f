import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert bounces`: what came back to the bounce addresses, and `ingest` to
/// take one message from standard input (Postfix `pipe(8)`, a Maildir loop).
struct Bounces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the latest bounces and complaints, newest first.",
        subcommands: [List.self, Ingest.self, Read.self],
        defaultSubcommand: List.self
    )

    struct List: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the latest bounces and complaints, newest first."
        )

        @Option(help: "How many events to list.")
        var limit = 50

        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000.") }
        }

        func run(with runtime: Runtime) async throws {
            let listings = try await runtime.store.latestBounces(limit: limit)
            guard !listings.isEmpty else {
                print("No bounces yet.")
                return
            }
            var rows = [["received", "via", "kind", "status", "outcome", "message", "list", "address", "diagnostic"]]
            for listing in listings {
                let event = listing.event
                // A sending service's webhook (its name before the event's), or mail to the bounce domain.
                let via = event.providerEvent.map { String($0.prefix { $0 != ":" }) } ?? "mail"
                rows.append([
                    event.receivedAt.cliText, via, event.kind.rawValue, event.status ?? event.action ?? "-", event.outcome.rawValue,
                    event.outboxMessageId.map { "#\($0)" } ?? "-", listing.listSlug ?? "-", listing.address ?? "-",
                    event.diagnostic ?? "-",
                ])
            }
            print(Table.render(rows))
        }
    }

    /// `kuvert bounces read FILE...`: what Kuvert reads in messages, without
    /// a store: the kind, the status and the words it went by. For an
    /// operator asking why a bounce counted or not, and for measuring the reader.
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what Kuvert reads in bounce messages (files, or a directory of .eml files); changes nothing.",
            discussion: "One line per message: file, kind, what it does to a subscription, status, the words it went by."
        )

        @Argument(help: "Message files, or directories of .eml files.")
        var paths: [String]

        @Flag(help: "Print only the count per kind (for measuring).")
        var summary = false

        func validate() throws {
            guard !paths.isEmpty else { throw ValidationError("Name at least one message file or directory.") }
        }

        func run() throws {
            var files: [String] = []
            for path in paths {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    throw ValidationError("\(path): no such file or directory.")
                }
                if isDirectory.boolValue {
                    let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".eml") }.sorted()
                    files += names.map { (path as NSString).appendingPathComponent($0) }
                } else {
                    files.append(path)
                }
            }
            var counts: [BounceKind: Int] = [:]
            var rows = [["file", "kind", "effect", "status", "words"]]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file) cannot be read.") }
                // The same cap as ingest: a bounce larger than this is refused there.
                let report = BounceReport(message: [UInt8](data.prefix(4 * 1_048_576)))
                let kind = BouncePolicy.kind(of: report)
                counts[kind, default: 0] += 1
                guard !summary else { continue }
                var status = "-"
                var words = "-"
                switch report {
                case .deliveryStatus(let code, _, let diagnostic):
                    status = code
                    words = diagnostic ?? "-"
                case .complaint(let type), .feedback(let type): status = type
                case .unrecognised(let subject): words = subject ?? "-"
                case .autoReply: break
                }
                let effect =
                    switch BouncePolicy.effect(of: kind) {
                    case .bouncesNow: "bounces now"
                    case .countsTowardsBounce: "counts"
                    case .unsubscribes: "unsubscribes"
                    case .resetsCount, .none: "nothing"
                    }
                rows.append([(file as NSString).lastPathComponent, kind.rawValue, effect, status, words])
            }
            if !summary { print(Table.render(rows)) }
            print(BounceKind.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ") + " (\(files.count) messages)")
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Process one message for a bounce address, read from standard input.",
            discussion: """
                For Postfix pipe(8) or a Maildir loop. Exit codes: 0 the message was taken (handled, or recognised \
                as no bounce); 67 the recipient is no valid signed address; 65 the message is larger than 4 MiB; \
                75 the store cannot be reached or Kuvert is not set up for bounces (the MTA tries again later).
                """
        )

        // Unconditional: an address may start with "-", which is no option here.
        @Option(parsing: .unconditional, help: "The address the message was sent to (Postfix: ${original_recipient}).")
        var recipient: String

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            do {
                try await Runtime.with(try options.settings(), schema: .requireCurrent) { try await ingest($0) }
            } catch let status as ExitStatus {
                throw status
            } catch {
                throw ExitStatus(75, "\(error)")
            }
        }

        private func ingest(_ runtime: Runtime) async throws {
            let logger = runtime.startLogging()
            guard let intake = runtime.bounceIntake(keys: try runtime.keys(), logger: logger, metrics: .none) else {
                throw ExitStatus(75, "KUVERT_BOUNCE_DOMAIN is not set: no bounce address is valid yet.")
            }
            guard let messageId = intake.messageId(recipient: recipient) else {
                throw ExitStatus(67, "Not a bounce address of this Kuvert (domain \(intake.addresses.domain)).")
            }
            let input = FileHandle.standardInput.readData(ofLength: BounceIntake.maximumSize + 1)
            guard input.count <= BounceIntake.maximumSize else {
                throw ExitStatus(65, "The message is larger than \(BounceIntake.maximumSize) octets.")
            }
            do {
                let event = try await intake.take([UInt8](input), messageId: messageId)
                print("Taken: \(event.kind.rawValue), \(event.outcome.rawValue).")
            } catch {
                throw ExitStatus(75, "Could not store the message: \(error)")
            }
        }
    }
}

/// Ends the command with a given exit status and a one-line reason, for
/// commands that other programs read by status (sysexits.h).
struct ExitStatus: Error {
    var code: Int32
    var message: String

    init(_ code: Int32, _ message: String) {
        self.code = code
        self.message = message
    }
}

extension BounceEvent {
    /// One line for `queue show` and `subscribers show`.
    var cliLine: String {
        var line = "\(receivedAt.cliText) \(kind.rawValue)"
        if let status { line += " \(status)" }
        if let action { line += " (\(action))" }
        line += ": \(outcome.rawValue)"
        if let outboxMessageId { line += ", message #\(outboxMessageId)" }
        if let diagnostic { line += ", \"\(diagnostic)\"" }
        return line
    }
}
