import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// The schema has one owner: `kuvert migrate`, and `serve` and `worker` at start.
@Suite("Migrations: who applies the schema, and a binary older than the store", .serialized)
struct MigrationTests {
    @Test("other commands change no schema: on a new store they ask for kuvert migrate, which creates it")
    func onlyMigrateCreates() async throws {
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let lists = try await kuvert.run("lists")
        #expect(lists.status == 1)
        #expect(lists.stderr.hasPrefix("kuvert: There is no store at ") && lists.stderr.contains("run 'kuvert migrate'"))
        #expect(lists.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: kuvert.dataDirectory + "/kuvert.sqlite"))
        let migrated = try await kuvert.run("migrate")
        let newest = try #require(SQLiteStore.migrator.migrations.last)
        #expect(migrated.status == 0 && migrated.stdout.contains("has schema \(newest)."), "\(migrated.stdout)\(migrated.stderr)")
        #expect(try await kuvert.run("lists").status == 0)
        // Again: nothing to do, still fine.
        #expect(try await kuvert.run("migrate").status == 0)
    }

    @Test("a store migrated by a newer kuvert is refused with one line by every command, serve included")
    func newerStore() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let queue = try DatabaseQueue(path: kuvert.dataDirectory + "/kuvert.sqlite")
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        for command in [["lists"], ["migrate"], ["serve", "--listen", "127.0.0.1:\(try freeLoopbackPort())"], ["worker"], ["queue"]] {
            let result = try await kuvert.run(command)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("has a newer schema (v99-from-the-future) than this kuvert knows"), "\(command): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(command): \(result.stderr)")
        }
    }

    @Test("two kuvert serve processes started at once on an empty store both come up")
    func concurrentStart() async throws {
        // Ten times: the race (both switching a new file to WAL) is a matter of milliseconds.
        for _ in 0..<10 {
            let kuvert = await KuvertCommand(migrate: false)
            defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
            let ports = [try freeLoopbackPort(), try freeLoopbackPort()]
            let logs = ports.map { kuvert.dataDirectory + "-\($0).log" }
            try FileManager.default.createDirectory(atPath: kuvert.dataDirectory, withIntermediateDirectories: true)
            let servers = try zip(ports, logs).map { port, log in
                try kuvert.start("serve", "--no-mailer", "--listen", "127.0.0.1:\(port)", log: log)
            }
            defer { for server in servers where server.isRunning { kill(server.processIdentifier, SIGKILL) } }
            for port in ports {
                try await eventually(timeout: 20, "serve on \(port) answers") {
                    (try? await http("http://127.0.0.1:\(port)/healthz").status) == 200
                }
            }
            for server in servers {
                kill(server.processIdentifier, SIGTERM)
                server.waitUntilExit()
                #expect(server.terminationStatus == 0)
            }
            for log in logs {
                #expect(!((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("already exists"))
                try? FileManager.default.removeItem(atPath: log)
            }
        }
    }
}
