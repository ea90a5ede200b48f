import ArgumentParser
import KuvertApp
import KuvertCore

/// A command that works on the store: it runs with the store of its settings
/// open, and the store closes when it returns or throws.
protocol StoreCommand: AsyncParsableCommand {
    var options: ConfigurationOptions { get }
    /// The command's work, with the store open (current schema required).
    func run(with runtime: Runtime) async throws
}

extension StoreCommand {
    func run() async throws {
        try await Runtime.with(try options.settings(), schema: .requireCurrent) { try await run(with: $0) }
    }
}
