import Foundation
import KuvertCore

/// `kuvert backup` on PostgreSQL: `pg_dump` in its custom format, one
/// consistent snapshot taken while every node keeps working. The password goes
/// to `pg_dump` in its environment, never on its command line (which `ps` shows).
struct PostgresBackup {
    let location: PostgresLocation

    init(_ location: PostgresLocation) {
        self.location = location
    }

    /// Where `pg_dump` is, from `PATH` and Debian's versioned directories.
    static func pgDump() -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        let debian = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        return (path + debian).map { "\($0)/pg_dump" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes the dump to `path`.
    /// - Throws: `KuvertError.configuration` with what to do when `pg_dump` is missing or fails.
    func run(to path: String) throws {
        guard let pgDump = Self.pgDump() else {
            throw KuvertError.configuration(
                "kuvert backup on PostgreSQL runs pg_dump, which is not installed: apt-get install postgresql-client "
                    + "(the server's major version or newer), or back up the database as you back up your PostgreSQL."
            )
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["PGHOST"] = location.socketDirectory ?? location.host ?? "localhost"
        environment["PGPORT"] = "\(location.port)"
        environment["PGUSER"] = location.user
        environment["PGDATABASE"] = location.database
        environment["PGSSLMODE"] = location.sslMode.rawValue
        environment["PGCONNECT_TIMEOUT"] = "10"
        if let password = location.password { environment["PGPASSWORD"] = password }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pgDump)
        process.arguments = ["--format=custom", "--no-password", "--file=\(path)"]
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason =
                String(decoding: message, as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw KuvertError.configuration("pg_dump could not back up \(location): \(reason)")
        }
    }
}
