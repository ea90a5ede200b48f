import Foundation

/// Where Kuvert keeps its state and finds its files: the data directory, the
/// store, the templates and the signing key.
public struct StorageSettings: Sendable {
    /// `KUVERT_DATA_DIR`: the key file, and the SQLite store unless `KUVERT_DATABASE` says otherwise.
    public var dataDirectory: String
    /// `KUVERT_DATABASE`: a SQLite file, or a PostgreSQL database named by a `postgres://` URL.
    public var store: StoreLocation
    /// `KUVERT_TEMPLATES`; by default `./Templates` in a source tree, else
    /// the installed templates beside the binary (`/usr/share/kuvert/templates`
    /// for `/usr/bin/kuvert`, as the Debian package lays them out).
    public var templatesDirectory: String
    /// `KUVERT_SECRET`: secrets given directly (comma-separated, the first signs);
    /// nil to use the key file in the data directory.
    public var secret: String?

    public init(dataDirectory: String = "./data") {
        self.dataDirectory = dataDirectory
        self.store = .sqlite(path: dataDirectory + "/kuvert.sqlite")
        self.templatesDirectory = Self.defaultTemplates
        self.secret = nil
    }

    /// `./Templates` where it exists (a source tree, `make run`), else the
    /// installed templates beside the executable, when those exist.
    static let defaultTemplates: String = {
        let local = "./Templates"
        guard !FileManager.default.fileExists(atPath: local),
            let executable = Bundle.main.executableURL?.resolvingSymlinksInPath()
        else { return local }
        let installed = executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/kuvert/templates").path
        return FileManager.default.fileExists(atPath: installed) ? installed : local
    }()

    /// - Throws: `KuvertError.configuration` for a PostgreSQL URL that cannot be used.
    public init(_ source: SettingSource) throws {
        self.init(dataDirectory: source.string("KUVERT_DATA_DIR") ?? "./data")
        if let text = source.string("KUVERT_DATABASE") { store = try StoreLocation(text) }
        if let path = source.string("KUVERT_TEMPLATES") { templatesDirectory = path }
        secret = source.string("KUVERT_SECRET")
    }
}
