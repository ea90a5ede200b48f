import ArgumentParser
import Configuration
import Foundation
import KuvertCore

/// Flags shared by every command; each overrides its `KUVERT_*` variable.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (KUVERT_DATA_DIR, default ./data).")
    var dataDirectory: String?

    @Option(help: "The store: a SQLite file or a postgres:// URL (KUVERT_DATABASE, default DATA_DIR/kuvert.sqlite).")
    var database: String?

    @Option(help: "Templates directory (KUVERT_TEMPLATES, default ./Templates).")
    var templates: String?

    @Option(name: .customLong("base-url"), help: "Public address used in links (KUVERT_BASE_URL).")
    var baseURL: String?

    @Option(name: .customLong("config"), help: "A file of KUVERT_NAME=value lines, under the environment (KUVERT_CONFIG).")
    var configFile: String?

    /// The configuration file of `--config` or `KUVERT_CONFIG`, if any.
    var file: String? {
        configFile ?? ProcessInfo.processInfo.environment["KUVERT_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The settings, read in layers through swift-configuration: these flags (and
    /// a command's own, in `extra`), then the environment, then the file of
    /// `--config` or `KUVERT_CONFIG`, then the defaults.
    /// - Throws: `KuvertError.configuration`, one line naming the setting or the file's line.
    func settings(extra: [String: String?] = [:]) throws -> Settings {
        // A typo in the environment (or in a file systemd loads into it) stops
        // every command, as one in the file does.
        for name in ProcessInfo.processInfo.environment.keys.sorted() {
            try Settings.checkName(name, in: "The environment")
        }
        let flags: [String: String?] = [
            "KUVERT_DATA_DIR": dataDirectory, "KUVERT_DATABASE": database, "KUVERT_TEMPLATES": templates,
            "KUVERT_BASE_URL": baseURL,
        ].merging(extra) { $1 }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "command line", values: Self.values(flags.compactMapValues { $0 })),
            EnvironmentVariablesProvider(secretsSpecifier: .specific(Settings.secretNames)),
        ]
        if let path = file {
            providers.append(InMemoryProvider(name: path, values: Self.values(try SettingsFile.read(path))))
        }
        let reader = ConfigReader(providers: providers)
        return try Settings(
            SettingSource { name in
                reader.string(forKey: ConfigKey(Self.key(name)), isSecret: Settings.secretNames.contains(name))
            }
        )
    }

    /// The key of a variable: `KUVERT_SMTP_URL` is `kuvert.smtp.url`, which the
    /// environment provider spells `KUVERT_SMTP_URL` again.
    private static func key(_ name: String) -> [String] {
        name.lowercased().split(separator: "_").map(String.init)
    }

    private static func values(_ settings: [String: String]) -> [AbsoluteConfigKey: ConfigValue] {
        Dictionary(
            uniqueKeysWithValues: settings.map { name, value in
                (AbsoluteConfigKey(key(name)), ConfigValue(.string(value), isSecret: Settings.secretNames.contains(name)))
            }
        )
    }
}

extension Date {
    /// Seconds-precision UTC time for command output.
    var cliText: String { formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)) }
}
