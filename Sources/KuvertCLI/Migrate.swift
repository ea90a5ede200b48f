import ArgumentParser
import KuvertApp
import KuvertCore

/// `kuvert migrate`: applies the schema to the store.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the store or bring its schema up to this version of kuvert.",
        discussion: """
            kuvert serve and kuvert worker do this at start; other commands change no schema and ask for it. \
            Safe when several processes run it at once. A store migrated by a newer kuvert is refused.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let settings = try options.settings()
        let schema = try await Runtime.with(settings, schema: .migrate) { try await $0.store.diagnosis().schema }
        print("The store \(settings.storage.store) has schema \(schema).")
    }
}
