import Foundation

/// Where Kuvert keeps its state and finds its files: the data directory, the
/// store, the templates and the signing key.
public struct StorageSettings: Sendable {
    /// `KUVERT_DATA_DIR`: the key file, and the SQLite store unless `KUVERT_DATABASE` says otherwise.
    public var dataDirectory: String
    /// `KUVERT_DATABASE`: a SQLite file, or a PostgreSQL database named by a `postgres://` URL.
    public var store: StoreLocation
    /// `KUVERT_TEMPLATES`.
    public var templatesDirectory: String
    /// `KUVERT_SECRET`: secrets given directly (comma-separated, the first signs);
    /// nil to use the key file in the data directory.
    public var secret: String?

    public init(dataDirectory: String = "./data") {
        self.dataDirectory = dataDirectory
        self.store = .sqlite(path: dataDirectory + "/kuvert.sqlite")
        self.templatesDirectory = "./Templates"
        self.secret = nil
    }

    /// - Throws: `KuvertError.configuration` for a PostgreSQL URL that cannot be used.
    public init(_ source: SettingSource) throws {
        self.init(dataDirectory: source.string("KUVERT_DATA_DIR") ?? "./data")
        if let text = source.string("KUVERT_DATABASE") { store = try StoreLocation(text) }
        if let path = source.string("KUVERT_TEMPLATES") { templatesDirectory = path }
        secret = source.string("KUVERT_SECRET")
    }
}
