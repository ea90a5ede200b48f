import ArgumentParser
import Foundation
import KuvertCore

/// Flags shared by every command; each overrides its `KUVERT_*` variable.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (KUVERT_DATA_DIR, default ./data).")
    var dataDirectory: String?

    @Option(help: "SQLite database file (KUVERT_DATABASE, default DATA_DIR/kuvert.sqlite).")
    var database: String?

    @Option(help: "Templates directory (KUVERT_TEMPLATES, default ./Templates).")
    var templates: String?

    @Option(name: .customLong("base-url"), help: "Public address used in links (KUVERT_BASE_URL).")
    var baseURL: String?

    /// The configuration: flags over the environment over the defaults.
    func resolve(extra: [String: String?] = [:]) throws -> KuvertCore.Configuration {
        var settings = ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("KUVERT_") }
        let flags: [String: String?] = [
            "KUVERT_DATA_DIR": dataDirectory, "KUVERT_DATABASE": database, "KUVERT_TEMPLATES": templates,
            "KUVERT_BASE_URL": baseURL,
        ].merging(extra) { $1 }
        for case let (name, value?) in flags { settings[name] = value }
        return try KuvertCore.Configuration(settings: settings)
    }

    /// The store named by the configuration. Only `kuvert migrate`, `serve` and
    /// `worker` migrate it; other commands need it current and change no schema.
    func openStore(_ configuration: KuvertCore.Configuration, schema: AppDatabase.Schema = .requireCurrent) throws -> AppDatabase {
        do {
            return try AppDatabase.open(path: configuration.databasePath, schema: schema)
        } catch let error as KuvertError {
            throw error
        } catch {
            throw CommandFailure(message: "Cannot open the database \(configuration.databasePath): \(error)")
        }
    }
}

extension Date {
    /// Seconds-precision UTC time for command output.
    var cliText: String { formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)) }
}
