import Foundation

/// Where Kuvert keeps its state and finds its files: the data directory, the
/// store, the templates and the signing key.
public struct StorageSettings: Sendable {
    /// `KUVERT_DATA_DIR`: the key file, and the SQLite store unless `KUVERT_DATABASE` says otherwise.
    public var dataDirectory: String
    /// `KUVERT_DATABASE`: a SQLite file, or a `postgres://` URL (`StoreLocation`).
    public var databasePath: String
    /// `KUVERT_TEMPLATES`.
    public var templatesDirectory: String
    /// `KUVERT_SECRET`: secrets given directly (comma-separated, the first signs);
    /// nil to use the key file in the data directory.
    public var secret: String?

    /// The store `databasePath` names (checked when the settings were read).
    public var store: StoreLocation { (try? StoreLocation(databasePath)) ?? .sqlite(path: databasePath) }

    public init(dataDirectory: String = "./data") {
        self.dataDirectory = dataDirectory
        self.databasePath = dataDirectory + "/kuvert.sqlite"
        self.templatesDirectory = "./Templates"
        self.secret = nil
    }

    /// - Throws: `KuvertError.configuration` for a PostgreSQL URL that cannot be used.
    public init(_ source: SettingSource) throws {
        self.init(dataDirectory: source.string("KUVERT_DATA_DIR") ?? "./data")
        if let path = source.string("KUVERT_DATABASE") {
            databasePath = path
            _ = try StoreLocation(path)
        }
        if let path = source.string("KUVERT_TEMPLATES") { templatesDirectory = path }
        secret = source.string("KUVERT_SECRET")
    }
}
