import Foundation
import KuvertFixtures
import KuvertPostgres
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("PostgreSQL: the store on a real server the tests start", .serialized)
struct PostgresStoreTests {
    @Test("kuvert migrate creates the schema once, however many run at once; doctor reads the server")
    func migrate() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let environment = ["KUVERT_DATABASE": cluster.url]
        // Four at once: the advisory lock lets one migrate; the others find the schema in place.
        let logs = (0..<4).map { kuvert.dataDirectory + "-migrate-\($0).log" }
        defer { for log in logs { try? FileManager.default.removeItem(atPath: log) } }
        let processes = try logs.map { try kuvert.start("migrate", environment: environment, log: $0) }
        for (process, log) in zip(processes, logs) {
            process.waitUntilExit()
            let output = try String(contentsOfFile: log, encoding: .utf8)
            #expect(process.terminationStatus == 0, "\(output)")
            #expect(output.hasPrefix("The store postgres://kuvert@localhost:5432/kuvert?host="), "\(output)")
            #expect(output.hasSuffix("has schema pg14-provider-events.\n"), "\(output)")
        }
        #expect(try cluster.psql("SELECT count(*) FROM kuvertMigration").output == "14\n")
        let doctor = try await kuvert.run(["doctor"], environment: environment)
        let line = try #require(doctor.stdout.split(separator: "\n").first { $0.hasPrefix("store") })
        #expect(
            line.contains("PostgreSQL 15") && line.contains("schema pg14-provider-events") && line.contains("connections in use"),
            "\(line)"
        )
    }

    @Test("a schema newer than the binary, an older one, a server that is not there, a bad URL: one line each")
    func refusals() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let environment = ["KUVERT_DATABASE": cluster.url]
        let older = try await kuvert.run(["doctor"], environment: environment)
        #expect(older.stdout.contains("lacks migration pg1-foundation: run kuvert migrate first"), "\(older.stdout)")
        #expect(try await kuvert.run(["migrate"], environment: environment).status == 0)
        #expect(try cluster.psql("INSERT INTO kuvertMigration (identifier) VALUES ('pg99-from-the-future')").status == 0)
        let newer = try await kuvert.run(["migrate"], environment: environment)
        #expect(newer.status == 1)
        #expect(newer.stderr.contains("has a schema newer than this kuvert (migration pg99-from-the-future)"), "\(newer.stderr)")
        #expect(newer.stderr.split(separator: "\n").count == 1)

        let absent = try await kuvert.run(["migrate"], environment: ["KUVERT_DATABASE": "postgres://kuvert@localhost/kuvert?host=/nonexistent/sock"])
        #expect(absent.status == 1)
        #expect(
            absent.stderr.hasPrefix("kuvert: The PostgreSQL store postgres://kuvert@localhost:5432/kuvert?host=/nonexistent/sock cannot be used"),
            "\(absent.stderr)"
        )

        let password = try await kuvert.run(
            ["migrate"],
            environment: ["KUVERT_DATABASE": "postgres://kuvert:hunter2@127.0.0.1:1/kuvert?sslmode=maybe"]
        )
        #expect(password.status == 1)
        #expect(password.stderr.contains("sslmode=maybe") && !password.stderr.contains("hunter2"), "\(password.stderr)")
    }

    @Test("the schema is as strict as SQLite's: the consent ledger, terms and audit log are append-only; erasure cascades")
    func strictness() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        #expect(try await kuvert.run(["migrate"], environment: ["KUVERT_DATABASE": cluster.url]).status == 0)
        let setUp = try cluster.psql(
            """
            INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('news', 'News', 'en', now());
            INSERT INTO termsVersion (listId, version, body, sha256, publishedAt) VALUES (1, 1, 'Terms', repeat('a', 64), now());
            INSERT INTO subscriber (address, addressKey, createdAt) VALUES ('anna@example.se', 'anna@example.se', now());
            INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, updatedAt)
                VALUES (1, 1, 'pending', 'en', repeat('n', 16), now(), now());
            INSERT INTO consentEvent (subscriptionId, kind, occurredAt, ip, userAgent, source)
                VALUES (1, 'requested', now(), '192.0.2.1', 'UA', 'form');
            INSERT INTO auditEvent (occurredAt, actor, action, subscriberId) VALUES (now(), 'web', 'subscription.requested', 1);
            """
        )
        #expect(setUp.status == 0, "\(setUp.output)")
        let refused = [
            "UPDATE consentEvent SET kind = 'confirmed'",
            "UPDATE consentEvent SET ip = '198.51.100.7'",
            "DELETE FROM consentEvent",
            "UPDATE termsVersion SET body = 'Other terms'",
            "DELETE FROM termsVersion",
            "UPDATE auditEvent SET action = 'nothing'",
            "DELETE FROM auditEvent",
            "INSERT INTO mailingList (slug, name, language, createdAt) VALUES ('Bad Slug', 'x', 'en', now())",
            "UPDATE subscription SET status = 'active'",
            "INSERT INTO consentEvent (subscriptionId, kind, occurredAt, source) VALUES (1, 'confirmed', now(), 'web')",
        ]
        for sql in refused {
            let result = try cluster.psql(sql)
            #expect(result.status != 0, "accepted: \(sql)")
        }
        // Erasure may clear network data and the audit's reference; the person's rows go with them.
        #expect(try cluster.psql("UPDATE consentEvent SET ip = NULL, userAgent = NULL").status == 0)
        #expect(try cluster.psql("DELETE FROM subscriber WHERE id = 1").status == 0)
        #expect(
            try cluster.psql("SELECT (SELECT count(*) FROM consentEvent), (SELECT count(*) FROM auditEvent WHERE subscriberId IS NULL)").output
                == "0|1\n"
        )
        // Identity ids are never reused.
        #expect(
            try cluster.psql(
                """
                INSERT INTO subscriber (address, addressKey, createdAt) VALUES ('bo@example.se', 'bo@example.se', now()) RETURNING id
                """
            ).output == "2\n"
        )
    }

    @Test("kuvert lists on PostgreSQL: add, show with counts, publish terms, refuse a second slug; each with its audit row")
    func lists() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let environment = ["KUVERT_DATABASE": cluster.url]
        #expect(try await kuvert.run(["migrate"], environment: environment).status == 0)
        #expect(try await kuvert.run(["lists"], environment: environment).stdout.contains("No lists yet"))
        let terms = try kuvert.writeTerms("# Villkor\n\nEtt brev i månaden.")
        let added = try await kuvert.run(
            [
                "lists", "add", "nyheter", "--name", "Nyheter från Föreningen", "--terms", terms, "--locale", "sv",
                "--from", "Föreningen <nyheter@forening.example>",
            ],
            environment: environment
        )
        #expect(added.status == 0, "\(added.stderr)")
        let again = try await kuvert.run(["lists", "add", "nyheter", "--name", "Again", "--terms", terms], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("nyheter"), "\(again.stderr)")
        #expect(try await kuvert.run(["lists", "add", "Bad Slug", "--name", "x", "--terms", terms], environment: environment).status != 0)
        let newer = try kuvert.writeTerms("# Villkor v2")
        let published = try await kuvert.run(["lists", "terms", "nyheter", "--file", newer], environment: environment)
        #expect(
            published.stdout.hasPrefix(
                "Published terms v2 for nyheter (sha256 \(TermsVersion.digest(try String(contentsOfFile: newer, encoding: .utf8)))"
            ),
            "\(published.stdout)\(published.stderr)"
        )
        #expect(try await kuvert.run(["lists", "terms", "gone", "--file", newer], environment: environment).status == 1)

        // A subscription written straight into the database shows in the counts.
        #expect(
            try cluster.psql(
                """
                INSERT INTO subscriber (address, addressKey, createdAt) VALUES ('a@example.se', 'a@example.se', now());
                INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, updatedAt)
                    VALUES (1, 1, 'pending', 'sv', repeat('n', 16), now(), now());
                """
            ).status == 0
        )
        let shown = try await kuvert.run(["lists"], environment: environment)
        let row = try #require(shown.stdout.split(separator: "\n").first { $0.hasPrefix("nyheter") })
        #expect(row.contains("Nyheter från Föreningen") && row.contains("sv") && row.contains("v2"), "\(row)")
        #expect(row.split(separator: " ").filter { !$0.isEmpty }.suffix(5) == ["1", "0", "0", "0", "0"], "\(row)")
        #expect(
            try cluster.psql("SELECT action || ' ' || detail FROM auditEvent ORDER BY id").output
                == "list.created terms v1\nterms.published terms v2\n"
        )
        #expect(try cluster.psql("SELECT fromAddress FROM mailingList").output == "Föreningen <nyheter@forening.example>\n")
    }

    @Test("every command on PostgreSQL: import, show, export, campaigns, the queue, purge, backup with pg_dump, erase, audit")
    func commands() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let environment = ["KUVERT_DATABASE": cluster.url, "KUVERT_SMTP_URL": "smtp://127.0.0.1:9"]
        func run(_ arguments: String...) async throws -> KuvertCommand.Result {
            let result = try await kuvert.run(arguments, environment: environment)
            #expect(result.status == 0, "kuvert \(arguments.joined(separator: " ")): \(result.stderr)")
            return result
        }
        _ = try await run("migrate")
        _ = try await run("lists", "add", "news", "--name", "News", "--terms", try kuvert.writeTerms("Terms"))
        let csv = kuvert.dataDirectory + "/people.csv"
        try "email,name\nanna@example.se,Anna\nbo@example.se,Bo\nnot an address,X\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let imported = try await kuvert.run(["subscribers", "import", csv, "--list", "news", "--rate", "1000"], environment: environment)
        #expect(imported.stdout.contains("Queued 2 confirmation mails") && imported.stdout.contains("line 4"), "\(imported.stdout)")
        #expect(try await run("subscribers").stdout.contains("2 subscriptions"))
        #expect(try await run("subscribers", "show", "anna@example.se").stdout.contains("requested via import"))
        let export = try await run("subscribers", "export", "anna@example.se").stdout
        #expect(export.contains("\"address\" : \"anna@example.se\""), "\(export)")

        #expect(try cluster.psql("UPDATE subscription SET status = 'active', confirmedAt = now()").status == 0)
        let id = try await run("campaign", "create", "--list", "news", "--subject", "Issue 1", "--body", try kuvert.writeTerms("# Hello"))
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await run("campaign", "preview", id).stdout.contains("Issue 1"))
        // No worker runs: the copy stays queued and the command says so at once.
        #expect(
            try await run("campaign", "test", id, "--to", "editor@example.se", "--wait", "0").stdout.contains("Queued the test copy as message 3")
        )
        _ = try await run("campaign", "send", id)
        #expect(try await run("campaign", "status", id).stdout.contains("Issue 1"))
        _ = try await run("campaign", "pause", id)
        _ = try await run("campaign", "resume", id)
        let queue = try await run("queue").stdout
        #expect(queue.contains("bo@example.se"), "\(queue)")
        #expect(try await run("queue", "show", "4").stdout.contains("Subject: Issue 1"))
        #expect(try cluster.psql("UPDATE outboxMessage SET status = 'failed' WHERE id = 1").status == 0)
        #expect(try await run("queue", "retry", "1").stdout.contains("1"))
        _ = try await run("campaign", "cancel", id)
        #expect(try await run("purge", "--dry-run").stdout.hasPrefix("Would delete 0 unconfirmed"))

        let backup = kuvert.dataDirectory + "/kuvert.dump"
        _ = try await run("backup", backup)
        #expect((try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int) == 0o600)
        let restored = try TestProcess.run(["/usr/bin/pg_restore", "--list", backup])
        #expect(restored.status == 0 && restored.stdout.contains("TABLE DATA public subscriber"), "\(restored.stderr)")

        #expect(try await run("subscribers", "erase", "anna@example.se").stdout == "Erased anna@example.se.\n")
        #expect(try await kuvert.run(["subscribers", "show", "anna@example.se"], environment: environment).status == 1)
        #expect(try cluster.psql("SELECT count(*) FROM subscriber WHERE address LIKE '%anna%'").output == "0\n")
        let audit = try await run("audit").stdout
        for action in ["subscriber.erased", "store.backup", "campaign.cancelled", "queue.retry", "subscription.requested"] {
            #expect(audit.contains(action), "\(action)")
        }
    }
}
