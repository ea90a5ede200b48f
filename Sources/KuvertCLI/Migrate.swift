import ArgumentParser
import KuvertCore

/// `kuvert migrate`: applies the schema to the store.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the store or bring its schema up to this version of kuvert.",
        discussion: """
            kuvert serve and kuvert worker do this at start; other commands change no schema and ask for it. \
            Safe when several processes run it at once. A store migrated by a newer kuvert is refused.
            """)

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let configuration = try options.resolve()
        let store = try options.openStore(configuration, schema: .migrate)
        print("The store \(configuration.databasePath) has schema \(try await store.diagnose().schema).")
    }
}
