import Foundation

/// Where Kuvert keeps its state and finds its files: the data directory, the
/// store, the templates and the signing key.
public struct StorageSettings: Sendable {
    /// `KUVERT_DATA_DIR`: the key file, and the SQLite store unless `KUVERT_DATABASE` says otherwise.
    public var dataDirectory: String
    /// `KUVERT_DATABASE`.
    public var databasePath: String
    /// `KUVERT_TEMPLATES`.
    public var templatesDirectory: String
    /// `KUVERT_SECRET`: secrets given directly (comma-separated, the first signs);
    /// nil to use the key file in the data directory.
    public var secret: String?

    public init(dataDirectory: String = "./data") {
        self.dataDirectory = dataDirectory
        self.databasePath = dataDirectory + "/kuvert.sqlite"
        self.templatesDirectory = "./Templates"
        self.secret = nil
    }

    public init(_ source: SettingSource) {
        self.init(dataDirectory: source.string("KUVERT_DATA_DIR") ?? "./data")
        if let path = source.string("KUVERT_DATABASE") { databasePath = path }
        if let path = source.string("KUVERT_TEMPLATES") { templatesDirectory = path }
        secret = source.string("KUVERT_SECRET")
    }
}
