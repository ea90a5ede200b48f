import Foundation

/// Where the store is: a SQLite file, or a PostgreSQL database named by a
/// libpq-style URL (`KUVERT_DATABASE`).
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// `postgres://` and `postgresql://` URLs name a PostgreSQL database; anything else is a SQLite file.
    /// - Throws: `KuvertError.configuration` for a PostgreSQL URL that cannot be used.
    public init(_ text: String) throws {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else {
            self = .sqlite(path: text)
        }
    }

    /// The path, or the URL without its password: safe for messages and logs.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description
        }
    }

    /// For the log: the URL's `user@` would look like an address to the log's
    /// redaction (`database=<address>`), so the user is named after it instead.
    public var logText: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description.replacingOccurrences(of: "//\(location.user)@", with: "//") + " as \(location.user)"
        }
    }
}

/// A PostgreSQL database: `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, with
/// `?host=/socket/dir` for a Unix socket and `sslmode=disable|prefer|require`.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
    }

    /// The server's host name or address; nil with a socket directory.
    public var host: String?
    public var port: Int
    /// The directory of the server's Unix socket (`?host=`).
    public var socketDirectory: String?
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// The socket file in `socketDirectory`, as libpq names it.
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    public init(parsing text: String) throws {
        func problem(_ what: String) -> KuvertError {
            KuvertError.configuration(
                "KUVERT_DATABASE \(what): use postgres://USER:PASSWORD@HOST:PORT/DATABASE (?host=/socket/dir, sslmode=disable|prefer|require)."
            )
        }
        guard let components = URLComponents(string: text) else { throw problem("is no URL") }
        let query = components.queryItems ?? []
        for item in query where !["host", "sslmode", "port"].contains(item.name) {
            throw problem("has the parameter '\(SettingSource.shown(item.name))', which Kuvert does not know")
        }
        socketDirectory = query.first { $0.name == "host" }?.value.flatMap { $0.isEmpty ? nil : $0 }
        if let directory = socketDirectory, !directory.hasPrefix("/") {
            throw problem("has host=\(SettingSource.shown(directory)), which must be a socket directory's absolute path")
        }
        let hostName = components.host.flatMap { $0.isEmpty ? nil : $0 }
        host = socketDirectory == nil ? (hostName ?? "localhost") : nil
        let portText = query.first { $0.name == "port" }?.value
        if let portText {
            guard let port = Int(portText), (1...65_535).contains(port) else { throw problem("has a port that is no port") }
            self.port = port
        } else {
            port = components.port ?? 5432
        }
        guard (1...65_535).contains(port) else { throw problem("has a port that is no port") }
        guard let user = components.user, !user.isEmpty else { throw problem("names no user") }
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        guard !database.contains("/") else { throw problem("names the database '\(SettingSource.shown(database))'") }
        let mode = query.first { $0.name == "sslmode" }?.value ?? (socketDirectory == nil ? "prefer" : "disable")
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw problem("has sslmode=\(SettingSource.shown(mode)), which is not disable, prefer or require")
        }
        if sslMode == .require && socketDirectory != nil { throw problem("asks for TLS over a Unix socket") }
        self.sslMode = sslMode
    }

    /// The URL without its password.
    public var description: String {
        let server = socketDirectory.map { "localhost:\(port)/\(database)?host=\($0)" } ?? "\(host ?? "localhost"):\(port)/\(database)"
        return "postgres://\(user)@\(server)"
    }
}
