import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The kuvert command")
struct CommandLineTests {
    @Test("lists: add, show, publish terms; duplicates and bad usage get exit codes 1 and 2")
    func lists() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let terms = try kuvert.writeTerms("# Villkor\n\nVi skickar ett brev i månaden.")

        let empty = try await kuvert.run("lists")
        #expect(empty.status == 0)
        #expect(empty.stdout.contains("No lists yet"))

        let added = try await kuvert.run("lists", "add", "nyheter", "--name", "Nyheter", "--terms", terms, "--locale", "sv")
        #expect(added.status == 0, "\(added.stderr)")
        let again = try await kuvert.run("lists", "add", "nyheter", "--name", "Nyheter", "--terms", terms)
        #expect(again.status == 1)
        #expect(again.stderr == "kuvert: A list called 'nyheter' exists already.\n")
        let badSlug = try await kuvert.run("lists", "add", "Bad Slug", "--name", "X", "--terms", terms)
        #expect(badSlug.status == 2)
        let badLocale = try await kuvert.run("lists", "add", "x", "--name", "X", "--terms", terms, "--locale", "de")
        #expect(badLocale.status == 2)
        // An ESC in a name failed every confirmation for the list at send.
        for name in ["Bad\u{1B}[31mName", "Two\nLines", "Next\u{85}Line", "Line\u{2028}Separator"] {
            let refused = try await kuvert.run("lists", "add", "x", "--name", name, "--terms", terms)
            #expect(refused.status == 2 && refused.stderr.contains("--name must be 1 to 200 characters on one line"), "\(refused)")
        }
        let missingTerms = try await kuvert.run("lists", "add", "x", "--name", "X", "--terms", "/nonexistent.md")
        #expect(missingTerms.status == 1)
        #expect(missingTerms.stderr.contains("Cannot read the terms file /nonexistent.md"))

        let published = try await kuvert.run("lists", "terms", "nyheter", "--file", try kuvert.writeTerms("Villkor, version 2"))
        #expect(published.status == 0)
        #expect(published.stdout.contains("Published terms v2"))
        let shown = try await kuvert.run("lists")
        #expect(shown.stdout.contains("nyheter  Nyheter  sv    v2"))
        let unknown = try await kuvert.run("lists", "terms", "nope", "--file", terms)
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "kuvert: There is no list called 'nope'.\n")
    }

    @Test("bounces read: what Kuvert reads in real bounces, per file and in sum, without a store; bad paths exit 2")
    func bouncesRead() async throws {
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let fixtures = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces")
        let one = try await kuvert.run(
            "bounces",
            "read",
            fixtures.appendingPathComponent("set-of-emails/lhost-exim-05.eml").path,
            fixtures.appendingPathComponent("arf-complaint.eml").path
        )
        #expect(one.status == 0, "\(one.stderr)")
        let rows = one.stdout.split(separator: "\n").map {
            $0.split(separator: " ", omittingEmptySubsequences: true).prefix(4).joined(separator: " ")
        }
        #expect(rows.contains("lhost-exim-05.eml hard bounces now"), "\(one.stdout)")
        #expect(rows.contains("arf-complaint.eml complaint unsubscribes abuse"), "\(one.stdout)")
        #expect(one.stdout.hasSuffix("ignored 0 (2 messages)\n"))
        let all = try await kuvert.run("bounces", "read", "--summary", fixtures.appendingPathComponent("set-of-emails").path)
        #expect(all.status == 0 && all.stdout.hasPrefix("hard ") && all.stdout.hasSuffix("(629 messages)\n"), "\(all.stdout)")
        let missing = try await kuvert.run("bounces", "read", "/nonexistent/bounce.eml")
        #expect(missing.status == 2 && missing.stderr.contains("no such file or directory"))
    }

    @Test("subscribers and queue: unknown addresses, empty outbox, bad settings")
    func subscribersAndQueue() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let unknown = try await kuvert.run("subscribers", "show", "nobody@example.se")
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "kuvert: No subscriber has that address.\n")
        let invalid = try await kuvert.run("subscribers", "show", "not an address")
        #expect(invalid.status == 2)
        let badStatus = try await kuvert.run("subscribers", "--status", "happy")
        #expect(badStatus.status == 2)
        let queue = try await kuvert.run("queue")
        #expect(queue.status == 0)
        #expect(queue.stdout.contains("due 0, scheduled 0, leased 0, retrying 0, sent 0, failed 0"))
        let missing = try await kuvert.run("queue", "show", "7")
        #expect(missing.status == 1)
        let badSetting = try await kuvert.run("queue", environment: ["KUVERT_CONFIRM_TTL": "a week"])
        #expect(badSetting.status == 1)
        #expect(badSetting.stderr.hasPrefix("kuvert: KUVERT_CONFIRM_TTL must be a duration"))
        #expect(badSetting.stderr.split(separator: "\n").count == 1)
        let help = try await kuvert.run("--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("serve"))
        let version = try await kuvert.run("--version")
        #expect(version.status == 0)
        #expect(
            version.stdout.hasPrefix("kuvert 0.") && version.stdout.contains("schema: SQLite v") && version.stdout.contains(", PostgreSQL pg"),
            "\(version.stdout)"
        )
        // A PostgreSQL server that refuses the connection is said at once, with the cause, not as
        // "no answer" after the patience (10 s; the bound here is below it).
        let started = Date()
        let refused = try await kuvert.run("lists", environment: ["KUVERT_DATABASE": "postgres://kuvert@127.0.0.1:\(try freeLoopbackPort())/kuvert"])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix("kuvert: The PostgreSQL store postgres://kuvert@127.0.0.1:") && refused.stderr.contains("Connection refused"),
            "\(refused.stderr)"
        )
        #expect(Date().timeIntervalSince(started) < 8)
        let nonsense = try await kuvert.run("frobnicate")
        #expect(nonsense.status == 2)
    }

    @Test("editors' verbs: campaign edit and delete for drafts only, subscribers unsubscribe, lists edit, unchanged terms refused")
    func editorsVerbs() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        let body = try kuvert.writeTerms("# Hej\n\nFörsta numret.")
        let missingBody = try await kuvert.run("campaign", "create", "--list", "news", "--subject", "x", "--body", "/nonexistent/brev.md")
        #expect(missingBody.stderr == "kuvert: Cannot read the body file /nonexistent/brev.md.\n")
        let id = try await kuvert.run("campaign", "create", "--list", "news", "--subject", "Nummer 1", "--body", body)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // A draft changes and goes.
        let newBody = try kuvert.writeTerms("# Hej\n\nAndra utkastet.")
        let edited = try await kuvert.run("campaign", "edit", id, "--subject", "Nummer 1 (rättad)", "--body", newBody)
        #expect(edited.status == 0 && edited.stdout == "Campaign \(id) changed.\n", "\(edited)")
        let preview = try await kuvert.run("campaign", "preview", id)
        #expect(preview.stdout.contains("Subject: Nummer 1 (rättad)") && preview.stdout.contains("Andra utkastet."))
        #expect(!preview.stdout.contains("Hello"), "no name, no greeting: \(preview.stdout)")
        // In another language, greeting a subscriber by the first of their names.
        let swedish = try await kuvert.run("campaign", "preview", id, "--locale", "sv", "--name", "Björn Ängström")
        #expect(swedish.stdout.contains("Hej Björn,\n") && swedish.stdout.contains("Du får News eftersom"), "\(swedish.stdout)")
        let english = try await kuvert.run("campaign", "preview", id, "--locale", "en", "--name", "Björn Ängström")
        #expect(english.stdout.contains("Hello Björn,\n"), "\(english.stdout)")
        #expect(try await kuvert.run("campaign", "preview", id, "--locale", "de").status == 2)
        #expect(try await kuvert.run("campaign", "edit", id).status == 2)
        #expect(try await kuvert.run("campaign", "edit", id, "--subject", "a\u{85}b").status == 2)
        #expect(
            try await kuvert.run("campaign", "edit", id, "--body", "/nonexistent/b.md").stderr
                == "kuvert: Cannot read the body file /nonexistent/b.md.\n"
        )
        #expect(try await kuvert.run("campaign", "delete", id).stdout == "Campaign \(id) deleted.\n")
        #expect(try await kuvert.run("campaign", "status", id).stderr == "kuvert: There is no campaign \(id).\n")
        #expect(try await kuvert.run("campaign", "delete", id).status == 1)

        // A queued one does not.
        let queued = try await kuvert.run("campaign", "create", "--list", "news", "--subject", "Nummer 2", "--body", body)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await kuvert.run("campaign", "send", queued, "--at", "2030-01-01T08:00:00Z").status == 0)
        for command in [["campaign", "edit", queued, "--subject", "Ändrad"], ["campaign", "delete", queued]] {
            let refused = try await kuvert.run(command)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("was queued (sending); only a draft can be"), "\(refused.stderr)")
        }

        // Unsubscribed on a request made by phone: the ledger says editor, the audit cli.
        _ = try await store.request("ringde@example.se")
        let ended = try await kuvert.run("subscribers", "unsubscribe", "Ringde@Example.se", "--list", "news")
        #expect(ended.status == 0 && ended.stdout == "Unsubscribed ringde@example.se from news.\n", "\(ended)")
        let record = try #require(try await store.subscriberRecord(address: try EmailAddress("ringde@example.se")))
        #expect(record.subscriptions.first?.subscription.status == .unsubscribed)
        #expect(record.subscriptions.first?.consent.last.map { [$0.kind.rawValue, $0.source] } == ["withdrawn", "editor"])
        #expect(
            try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM auditEvent WHERE action = 'subscription.withdrawn' AND actor = 'cli'")
            } == 1
        )
        let again = try await kuvert.run("subscribers", "unsubscribe", "ringde@example.se")
        #expect(again.status == 1 && again.stderr == "kuvert: ringde@example.se has no active or pending subscription.\n")
        #expect(try await kuvert.run("subscribers", "unsubscribe", "okand@example.se").stderr == "kuvert: No subscriber has that address.\n")
        #expect(try await kuvert.run("subscribers", "unsubscribe", "ringde@example.se", "--list", "nope").status == 1)

        // A list's name, language and thanks page change; nothing else does.
        let listEdit = try await kuvert.run("lists", "edit", "news", "--name", "Nyheter", "--locale", "sv", "--thanks-url", "https://example.se/tack")
        #expect(listEdit.status == 0 && listEdit.stdout == "List news changed: name, thanks-url, locale.\n", "\(listEdit)")
        let shown = try await kuvert.run("lists")
        #expect(shown.stdout.contains("news  Nyheter  sv"), "\(shown.stdout)")
        #expect(try await kuvert.run("lists", "edit", "news").status == 2)
        #expect(try await kuvert.run("lists", "edit", "news", "--locale", "de").status == 2)
        #expect(try await kuvert.run("lists", "edit", "nope", "--name", "X").stderr == "kuvert: There is no list called 'nope'.\n")
        #expect(try await kuvert.run("lists", "edit", "news", "--thanks-url", "").status == 0)
        #expect(try await store.mailingList(slug: "news").thanksURL == nil)

        // The same terms again publish nothing.
        let same = try kuvert.writeTerms("Terms")
        let unchanged = try await kuvert.run("lists", "terms", "news", "--file", same)
        #expect(unchanged.status == 1)
        #expect(unchanged.stderr == "kuvert: The terms of 'news' are v1 already, word for word: nothing was published.\n")
        #expect(try await kuvert.run("lists", "terms", "news", "--file", try kuvert.writeTerms("Terms, v2")).status == 0)
    }

    @Test("privacy record: the record of processing from the running configuration, in Swedish and English")
    func privacyRecord() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        try await store.activate("a@example.se")
        _ = try await store.editList(slug: "news", ListEdit(description: "One letter a month."), actor: "test", now: Date())
        let environment = [
            "KUVERT_RETENTION": "30d", "KUVERT_WEBHOOK_URL": "https://crm.example.se/hook",
            "KUVERT_WEBHOOK_SECRET": String(repeating: "s", count: 32), "KUVERT_SMTP_URL": "smtps://relay.example.se:465",
        ]
        let english = try await kuvert.run(["privacy", "record"], environment: environment)
        #expect(english.status == 0, "\(english.stderr)")
        for expected in [
            "# Record of processing activities (GDPR Art. 30)", "(`news`)", "under terms version 1. Active subscriptions: 1. One letter a month.",
            "erased 30 days after the last", "The mail relay: `relay.example.se`, always over TLS.", "The webhook receiver: `crm.example.se`",
            "_(to be completed by the organisation)_", "from every table and from the database files",
        ] {
            #expect(english.stdout.contains(expected), "\(expected): \(english.stdout)")
        }
        let swedish = try await kuvert.run(["privacy", "record", "--locale", "sv"], environment: environment)
        #expect(swedish.stdout.hasPrefix("# Register över behandling (GDPR artikel 30)") && swedish.stdout.contains("raderas 30 dagar efter"))
        #expect(try await kuvert.run(["privacy", "record", "--locale", "de"]).status == 2)

        // One list: its terms versions and who accepted which.
        _ = try await store.publishTerms(listSlug: "news", body: "Terms, v2", actor: "test", now: Date())
        let shown = try await kuvert.run("lists", "show", "news")
        #expect(shown.status == 0 && shown.stdout.contains("One letter a month."), "\(shown)")
        let rows = shown.stdout.split(separator: "\n").filter { $0.hasPrefix("v") }.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.map { [String($0.first ?? ""), String($0.last ?? "")] } == [["v2", "0"], ["v1", "1"]], "\(shown.stdout)")
        #expect(try await kuvert.run("lists", "show", "nope").stderr == "kuvert: There is no list called 'nope'.\n")
    }

    @Test("rectification and restriction: subscribers update, restrict, unrestrict; show says so; bad input exits 2, nobody 1")
    func rectificationAndRestriction() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        try await store.activate("bjorn@example.se")

        let updated = try await kuvert.run("subscribers", "update", "Bjorn@Example.se", "--name", "Björn Ek", "--locale", "sv")
        #expect(updated.status == 0 && updated.stdout == "Corrected name and locale of bjorn@example.se.\n", "\(updated)")
        #expect(
            try await kuvert.run("subscribers", "update", "bjorn@example.se", "--locale", "sv").stdout == "Nothing changed for bjorn@example.se.\n"
        )
        #expect(try await kuvert.run("subscribers", "update", "bjorn@example.se").status == 2)
        #expect(try await kuvert.run("subscribers", "update", "bjorn@example.se", "--name", "a\u{1B}b").status == 2)
        #expect(try await kuvert.run("subscribers", "update", "bjorn@example.se", "--locale", "de").status == 2)
        #expect(
            try await kuvert.run("subscribers", "update", "okand@example.se", "--name", "X").stderr == "kuvert: No subscriber has that address.\n"
        )
        let moving = try await kuvert.run("subscribers", "update", "bjorn@example.se", "--email", "bjorn.ny@example.se")
        #expect(moving.status == 0 && moving.stdout.hasPrefix("A confirmation link goes to bjorn.ny@example.se;"), "\(moving)")
        #expect(try await store.subscriber(address: try EmailAddress("bjorn@example.se"))?.newAddress == "bjorn.ny@example.se")
        #expect(try await kuvert.run("subscribers", "update", "bjorn@example.se", "--email", "inte en adress").status == 2)

        let restricted = try await kuvert.run("subscribers", "restrict", "bjorn@example.se", "--reason", "bestrider uppgifterna")
        #expect(restricted.status == 0 && restricted.stdout.hasPrefix("Restricted processing for bjorn@example.se"), "\(restricted)")
        #expect(try await kuvert.run("subscribers", "restrict", "bjorn@example.se").stdout == "bjorn@example.se is restricted already.\n")
        #expect(try await kuvert.run("subscribers", "restrict", "bjorn@example.se", "--reason", "a\nb").status == 2)
        let shown = try await kuvert.run("subscribers", "show", "bjorn@example.se")
        #expect(shown.stdout.contains(": bestrider uppgifterna (nothing is mailed to them)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("language sv, name Björn Ek"), "\(shown.stdout)")
        let export = try await kuvert.run("subscribers", "export", "bjorn@example.se")
        #expect(export.stdout.contains(#""processingRestricted" : true"#), "\(export.stdout)")
        let lifted = try await kuvert.run("subscribers", "unrestrict", "bjorn@example.se")
        #expect(lifted.status == 0 && lifted.stdout == "Processing for bjorn@example.se is no longer restricted.\n")
        #expect(try await kuvert.run("subscribers", "unrestrict", "bjorn@example.se").stdout == "bjorn@example.se was not restricted.\n")
        #expect(try await kuvert.run("subscribers", "unrestrict", "okand@example.se").status == 1)
        #expect(
            try await store.writer.read { db in
                try String.fetchAll(db, sql: "SELECT action FROM auditEvent WHERE actor = 'cli' AND action LIKE 'subscriber.%' ORDER BY id")
            } == [
                "subscriber.rectified", "subscriber.address-requested", "subscriber.restricted", "subscriber.exported",
                "subscriber.unrestricted",
            ]
        )

        // A list's description, for the manage page.
        #expect(try await kuvert.run("lists", "edit", "news", "--description", "En gång i månaden.").stdout == "List news changed: description.\n")
        #expect(try await store.mailingList(slug: "news").description == "En gång i månaden.")
        #expect(try await kuvert.run("lists", "edit", "news", "--description", String(repeating: "x", count: 501)).status == 2)
    }

    @Test("campaign: create prints an id; bad input and impossible changes get exit codes 1 and 2")
    func campaigns() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let terms = try kuvert.writeTerms("Terms")
        #expect(try await kuvert.run("lists", "add", "news", "--name", "News", "--terms", terms).status == 0)
        let body = try kuvert.writeTerms("# Hello\n\nFirst issue.")

        let created = try await kuvert.run("campaign", "create", "--list", "news", "--subject", "Issue 1", "--body", body)
        #expect(created.status == 0)
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(id) != nil)
        let unknownList = try await kuvert.run("campaign", "create", "--list", "nope", "--subject", "x", "--body", body)
        #expect(unknownList.status == 1)
        #expect(unknownList.stderr == "kuvert: There is no list called 'nope'.\n")
        let emptySubject = try await kuvert.run("campaign", "create", "--list", "news", "--subject", " ", "--body", body)
        #expect(emptySubject.status == 2)
        // U+0085 passed preview before and then failed every message at send.
        for subject in ["Next\u{85}line", "Esc\u{1B}", "Line\u{2028}separator"] {
            let refused = try await kuvert.run("campaign", "create", "--list", "news", "--subject", subject, "--body", body)
            #expect(refused.status == 2 && refused.stderr.contains("without control characters"), "\(refused)")
        }

        let preview = try await kuvert.run("campaign", "preview", id)
        #expect(preview.status == 0)
        #expect(preview.stdout.contains("Subject: Issue 1") && preview.stdout.contains("First issue."))
        let pauseDraft = try await kuvert.run("campaign", "pause", id)
        #expect(pauseDraft.status == 1)
        #expect(pauseDraft.stderr.contains("is draft; it cannot become paused"))
        let badTime = try await kuvert.run("campaign", "send", id, "--at", "tomorrow")
        #expect(badTime.status == 2)
        let sent = try await kuvert.run("campaign", "send", id, "--at", "2030-01-01T08:00:00Z")
        #expect(sent.status == 0)
        #expect(sent.stdout.contains("Queued 0 messages"))
        #expect(try await kuvert.run("campaign", "pause", id).status == 0)
        #expect(try await kuvert.run("campaign", "resume", id).status == 0)
        let status = try await kuvert.run("campaign", "status", id)
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"Issue 1\" sending"))
        #expect(try await kuvert.run("campaign", "cancel", id).status == 0)
        #expect(try await kuvert.run("campaign", "send", id).status == 1)
        let missing = try await kuvert.run("campaign", "status", "999")
        #expect(missing.status == 1)
        #expect(missing.stderr == "kuvert: There is no campaign 999.\n")
    }

    @Test("subscribers export and erase, audit and backup from the command line")
    func privacy() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.request("anna@example.se", name: "Anna")

        let export = try await kuvert.run("subscribers", "export", "anna@example.se")
        #expect(export.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any]
        #expect(json?["address"] as? String == "anna@example.se")
        #expect((json?["subscriptions"] as? [Any])?.count == 1)

        let backupPath = kuvert.dataDirectory + "/copy.sqlite"
        #expect(try await kuvert.run("backup", backupPath).status == 0)
        #expect((try FileManager.default.attributesOfItem(atPath: backupPath)[.posixPermissions] as? Int) == 0o600)
        let again = try await kuvert.run("backup", backupPath)
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists already"))

        let erase = try await kuvert.run("subscribers", "erase", "anna@example.se")
        #expect(erase.status == 0)
        let twice = try await kuvert.run("subscribers", "erase", "anna@example.se")
        #expect(twice.status == 1)
        #expect(twice.stderr == "kuvert: No subscriber has that address.\n")
        #expect(try await kuvert.run("subscribers", "export", "anna@example.se").status == 1)

        let dryRun = try await kuvert.run("purge", "--dry-run")
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout == "Would delete 0 unconfirmed subscriptions; would erase 0 people; would delete 0 message records.\n")
        #expect(try await kuvert.run("purge", environment: ["KUVERT_RETENTION": "soon"]).status == 1)

        let audit = try await kuvert.run("audit")
        #expect(audit.status == 0)
        for action in ["list.created", "subscription.requested", "subscriber.exported", "store.backup", "subscriber.erased"] {
            #expect(audit.stdout.contains(action), "\(action)")
        }
        #expect(!audit.stdout.contains("anna@"))
        #expect(try await kuvert.run("audit", "--email", "not an address").status == 2)
    }

    @Test("import: every row pending with a spread-out confirmation, refusals with line numbers, erased addresses stay out")
    func importCSV() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        // An address that was erased before.
        let store = try await kuvert.newsList()
        _ = try await store.request("gone@example.se")
        #expect(try await kuvert.run("subscribers", "erase", "gone@example.se").status == 0)

        let csv = try kuvert.writeTerms(
            """
            email,name,locale
            anna@example.se,"Svensson, Anna",sv
            not-an-address,Bo
            ANNA@example.se,Anna again
            bertil@example.se
            gone@example.se,Gone
            cecilia@exempel.se,"Cecilia ""CC"" Ek",en
            """
        )
        let result = try await kuvert.run("subscribers", "import", csv, "--list", "news", "--rate", "5")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Queued 3 confirmation mails; 0 already pending, 0 already subscribed, 3 refused.")
        #expect(lines.contains { $0.hasPrefix("line 3: ") })
        #expect(lines.contains("line 4: The same address as line 2."))
        #expect(lines.contains { $0.hasPrefix("line 6: Erased at the person's request") })

        let rows = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT subscriber.address, subscription.status, subscription.name, outboxMessage.dueAt
                    FROM subscription JOIN subscriber ON subscriber.id = subscription.subscriberId
                    JOIN outboxMessage ON outboxMessage.subscriptionId = subscription.id
                    WHERE subscriber.erasedAt IS NULL ORDER BY subscription.id
                    """
            )
        }
        #expect(rows.map { $0["address"] as String } == ["anna@example.se", "bertil@example.se", "cecilia@exempel.se"])
        #expect(rows.allSatisfy { ($0["status"] as String) == "pending" })
        #expect(rows.map { $0["name"] as String? } == ["Svensson, Anna", nil, "Cecilia \"CC\" Ek"])
        // Five per second: the third mail is due 0.4 s after the first.
        let due = rows.map { $0["dueAt"] as Date }
        #expect(abs(due[2].timeIntervalSince(due[0]) - 0.4) < 0.01)
        #expect(try await kuvert.run("subscribers", "import", csv, "--list", "nope").status == 1)
        #expect(try await kuvert.run("subscribers", "import", "/nonexistent.csv", "--list", "news").status == 1)
    }

    @Test(
        "CSV from Swedish Excel: a BOM, semicolons, CRLF, Swedish headers, first and last names; Windows-1252 too; an unknown locale refused by line"
    )
    func swedishExcel() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        // As Excel saves "CSV UTF-8 (kommaavgränsad)" on a Swedish system.
        let utf8 =
            "\u{FEFF}Förnamn;Efternamn;E-postadress;Språk\r\nÅsa;Öberg;asa@example.se;sv\r\n"
            + "Björn;Ängström;bjorn@example.se;\r\nHans;Meyer;hans@example.de;de\r\n"
        let utf8File = kuvert.dataDirectory + "/excel-utf8.csv"
        try Data(utf8.utf8).write(to: URL(fileURLWithPath: utf8File))
        let imported = try await kuvert.run("subscribers", "import", utf8File, "--list", "news")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(
            imported.stdout == "Queued 2 confirmation mails; 0 already pending, 0 already subscribed, 1 refused.\n"
                + "line 4: The locale 'de' is none Kuvert speaks: sv or en (or leave it empty).\n",
            "\(imported.stdout)"
        )
        // As older Excel saves "CSV (semikolonavgränsad)": Windows-1252, and English mailing-program headers.
        let ansi = "Email Address;First Name;Last Name\r\ncarl@example.se;Carl;Åkesson\r\n"
        let ansiFile = kuvert.dataDirectory + "/excel-ansi.csv"
        try #require(ansi.data(using: .windowsCP1252)).write(to: URL(fileURLWithPath: ansiFile))
        #expect(try await kuvert.run("subscribers", "import", ansiFile, "--list", "news").stdout.hasPrefix("Queued 1 confirmation mail;"))
        let rows = try await store.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT subscriber.address, subscription.name, subscription.language FROM subscription
                    JOIN subscriber ON subscriber.id = subscription.subscriberId ORDER BY subscription.id
                    """
            ).map { "\($0["address"] as String) \($0["name"] as String) \($0["language"] as String)" }
        }
        #expect(rows == ["asa@example.se Åsa Öberg sv", "bjorn@example.se Björn Ängström en", "carl@example.se Carl Åkesson en"])
        // A header that names no address column says so, once.
        let headless = kuvert.dataDirectory + "/no-address.csv"
        try "Namn;Telefon\r\nAnna;0701234567\r\n".write(toFile: headless, atomically: true, encoding: .utf8)
        let refused = try await kuvert.run("subscribers", "import", headless, "--list", "news")
        #expect(refused.status == 0)
        #expect(
            refused.stdout.contains("Queued 0 confirmation mails") && refused.stdout.contains("line 1: The header line names no address column"),
            "\(refused.stdout)"
        )
    }

    @Test("queue show prints the waiting confirmation decoded, with a link that works")
    func queueShow() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        _ = try await store.request("åsa@example.se")
        let queue = try await kuvert.run("queue")
        #expect(queue.stdout.contains("due 1,") && queue.stdout.contains("åsa@example.se"))
        let shown = try await kuvert.run("queue", "show", "1", environment: ["KUVERT_BASE_URL": "https://news.example.se"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.hasPrefix("Message 1, confirmation: queued, due "), "\(shown.stdout)")
        #expect(shown.stdout.contains("To: åsa@example.se"))
        #expect(shown.stdout.contains("Subject: Confirm your subscription to News"))
        let link = try #require(shown.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("https://news.example.se/confirm/") })
        // Decoded: the whole token on one line, no quoted-printable soft breaks.
        #expect(!link.contains("="))
        let signer = TokenSigner(keys: try SecretKeys.load(StorageSettings(dataDirectory: kuvert.dataDirectory)))
        let service = ConfirmationService(store: store, signer: signer, confirmTTL: 7 * 86_400)
        let context = try await service.open(String(link.split(separator: "/").last ?? ""), now: Date())
        #expect(context.subscription.status == .pending)
        let html = try await kuvert.run("queue", "show", "1", "--html")
        #expect(html.stdout.contains("<a href=\"http://127.0.0.1:8080/confirm/"))
    }
}
