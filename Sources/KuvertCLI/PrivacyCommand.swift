import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert privacy`: what the organisation's privacy work needs from Kuvert.
struct PrivacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "The record of processing activities, drawn from the running configuration.",
        subcommands: [Record.self],
        defaultSubcommand: Record.self
    )

    struct Record: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the record of processing activities (GDPR Art. 30) as Markdown.",
            discussion:
                "Each list as a purpose with its terms version, the data kept and for how long, who else receives data, and the measures in place, from what this Kuvert is configured to do. Complete the organisation's own parts (controller, contact, transfers)."
        )

        @Option(help: "The language of the record: sv or en.") var locale: String = "en"
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard Language(rawValue: locale) != nil else { throw ValidationError("--locale must be sv or en.") }
        }

        func run(with runtime: Runtime) async throws {
            let domains = (try? runtime.dkim()?.domains) ?? []
            let record = ProcessingRecord(settings: runtime.settings, lists: try await runtime.store.listSummaries(), dkimDomains: domains)
            print(record.markdown(Language(rawValue: locale) ?? .en, at: Date(), time: runtime.settings.mail.humanTime), terminator: "")
        }
    }
}
