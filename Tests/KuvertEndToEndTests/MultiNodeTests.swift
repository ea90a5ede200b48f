import Foundation
import KuvertTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
import KuvertFixtures
@testable import KuvertSQLite
#endif

/// Kuvert on several machines: processes that share nothing but one
/// PostgreSQL database (and, as nodes behind one name would, the secret and the base URL).
@Suite("Several nodes on one PostgreSQL database", .serialized)
struct MultiNodeTests {
    static let secret = String(repeating: "5eC2e7", count: 8)

    /// A `kuvert serve` node; stopped with SIGKILL if the test ends early.
    struct Node {
        let process: Process
        let base: String
    }

    @Test("two serve and two worker processes: posts to either node, confirmation through the other, 2,000 subscribers, a worker killed mid-send")
    func twoNodes() async throws {
        let cluster = try PostgresCluster()
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let shared = [
            "KUVERT_DATABASE": cluster.url, "KUVERT_SECRET": Self.secret, "KUVERT_SMTP_URL": smtp.url,
            "KUVERT_BASE_URL": "http://kuvert.test", "KUVERT_RATE_LIMIT": "1000/1m", "KUVERT_LEASE": "3s",
        ]
        #expect(try await kuvert.run(["migrate"], environment: shared).status == 0)
        let terms = try kuvert.writeTerms("# Terms\n\nOne letter a month.")
        #expect(try await kuvert.run(["lists", "add", "news", "--name", "News", "--terms", terms], environment: shared).status == 0)

        var processes: [Process] = []
        defer { for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var nodes: [Node] = []
        // The first node sends too, with the mailer of its own; the second serves HTTP only.
        for index in 0..<2 {
            let port = try freeLoopbackPort()
            let process = try kuvert.start(
                ["serve"] + (index == 0 ? [] : ["--no-mailer"]),
                environment: shared.merging(["KUVERT_LISTEN": "127.0.0.1:\(port)", "KUVERT_SEND_RATE": "150"]) { $1 },
                log: kuvert.dataDirectory + "/serve-\(index).log"
            )
            processes.append(process)
            nodes.append(Node(process: process, base: "http://127.0.0.1:\(port)"))
        }
        for node in nodes {
            try await eventually(timeout: 30, "\(node.base) answers") { (try? await http(node.base + "/healthz").status) == 200 }
        }
        // Workers send slowly enough that the kill comes mid-campaign.
        let workerEnvironment = shared.merging(["KUVERT_SMTP_CONNECTIONS": "4", "KUVERT_SEND_RATE": "150"]) { $1 }
        let workers = try (0..<2).map { index in
            try kuvert.start("worker", environment: workerEnvironment, log: kuvert.dataDirectory + "/worker-\(index).log")
        }
        processes += workers

        // 20 people subscribe, alternately through each node; each confirms through the other one.
        let people = (0..<20).map { "person\($0)@example.se" }
        for (index, person) in people.enumerated() {
            let posted = try await postForm(nodes[index % 2].base + "/subscribe", "email=\(person)&list=news")
            #expect(posted == 200)
        }
        try await smtp.waitFor(timeout: 60) { smtp.messages().count >= people.count }
        for mail in smtp.messages() {
            let recipient = try #require(mail.to.first)
            let index = try #require(people.firstIndex(of: recipient))
            let text = try #require(try mail.parsed().part("text/plain")).content
            let link = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://kuvert.test/confirm/") })
            let other = nodes[(index + 1) % 2].base
            let accepted = try await postForm(other + link.dropFirst("http://kuvert.test".count), "accept_terms=yes&terms_version=1")
            #expect(accepted == 200)
        }
        #expect(try cluster.psql("SELECT count(*) FROM subscription WHERE status = 'active'").output == "20\n")
        // Each gets a welcome mail, a receipt, before the campaign starts.
        try await smtp.waitFor(timeout: 60) { smtp.messages().count >= 2 * people.count }
        let welcomed = smtp.messages().dropFirst(people.count)
        #expect(Set(welcomed.flatMap(\.to)) == Set(people) && welcomed.count == people.count)

        // 1,980 more confirmed long ago, written straight into the database: 2,000 readers.
        #expect(
            try cluster.psql(
                """
                INSERT INTO subscriber (address, addressKey, createdAt)
                    SELECT 'reader' || n || '@example.se', 'reader' || n || '@example.se', now() FROM generate_series(1, 1980) n;
                INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, confirmedAt, updatedAt)
                    SELECT id, 1, 'active', 'en', md5(addressKey), now(), now(), now() FROM subscriber WHERE addressKey LIKE 'reader%';
                """
            ).status == 0
        )
        let readers = Set(people + (1...1980).map { "reader\($0)@example.se" })
        let body = try kuvert.writeTerms("Hello, reader.")
        let created = try await kuvert.run(
            ["campaign", "create", "--list", "news", "--subject", "Issue 1", "--body", body],
            environment: shared
        )
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = smtp.messages().count
        let sent = try await kuvert.run(["campaign", "send", id], environment: shared)
        #expect(sent.status == 0, "\(sent.stderr)")

        try await smtp.waitFor(timeout: 60) { smtp.messages().count - before >= 300 }
        kill(workers[0].processIdentifier, SIGKILL)
        workers[0].waitUntilExit()
        #expect(workers[0].terminationReason == .uncaughtSignal)
        let unsent = try cluster.psql("SELECT count(*) FROM outboxMessage WHERE kind = 'newsletter' AND status != 'sent'").output
        #expect((Int(unsent.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "the kill came after the campaign: it proves nothing")

        // The other worker finishes the campaign, the dead one's claims included once its lease ends.
        try await eventually(timeout: 90, "every reader has the issue") {
            Set(smtp.messages().dropFirst(before).flatMap(\.to)).isSuperset(of: readers)
        }
        try await eventually(timeout: 30, "every newsletter recorded sent") {
            try cluster.psql("SELECT count(*) FROM outboxMessage WHERE status != 'sent'").output == "0\n"
        }
        let received = smtp.messages().dropFirst(before).flatMap(\.to)
        #expect(Set(received) == readers)
        // At most the message in flight in each of the killed worker's 4 sessions goes twice.
        #expect(received.count - readers.count <= 4, "\(received.count - readers.count) duplicates")
        #expect(try cluster.psql("SELECT count(*) FROM outboxMessage WHERE status = 'leased'").output == "0\n")

        // Four readers leave with the one-click POST of their issue's List-Unsubscribe, through either node.
        let leaving = Array(people.prefix(4))
        for (index, person) in leaving.enumerated() {
            let mail = try #require(smtp.messages().dropFirst(before).first { $0.to == [person] })
            let header = try #require(try mail.parsed().headers["List-Unsubscribe"])
            let link = try #require(
                header.split(separator: "<").compactMap { $0.split(separator: ">").first }
                    .first { $0.hasPrefix("http://kuvert.test/unsubscribe/") }
            )
            let status = try await postForm(nodes[index % 2].base + link.dropFirst("http://kuvert.test".count), "List-Unsubscribe=One-Click")
            #expect(status == 200)
        }
        #expect(
            try cluster.psql(
                """
                SELECT count(*) FROM subscription s JOIN subscriber p ON p.id = s.subscriberId
                WHERE s.status = 'unsubscribed' AND p.addressKey IN ('person0@example.se', 'person1@example.se', 'person2@example.se', 'person3@example.se')
                """
            ).output == "4\n"
        )

        for process in [nodes[0].process, nodes[1].process, workers[1]] {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
    }

    @Test("a client's rate limit and an address's limit hold across nodes, counted in the database under keyed hashes")
    func sharedRateLimits() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let shared = [
            "KUVERT_DATABASE": cluster.url, "KUVERT_SECRET": Self.secret, "KUVERT_SMTP_URL": "smtp://127.0.0.1:9",
            "KUVERT_RATE_LIMIT": "6/1h", "KUVERT_ADDRESS_RATE_LIMIT": "2/1h",
        ]
        #expect(try await kuvert.run(["migrate"], environment: shared).status == 0)
        let terms = try kuvert.writeTerms("Terms")
        #expect(try await kuvert.run(["lists", "add", "news", "--name", "News", "--terms", terms], environment: shared).status == 0)
        var nodes: [String] = []
        var processes: [Process] = []
        defer { for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        for _ in 0..<2 {
            let port = try freeLoopbackPort()
            processes.append(
                try kuvert.start(
                    "serve",
                    "--no-mailer",
                    environment: shared.merging(["KUVERT_LISTEN": "127.0.0.1:\(port)"]) { $1 }
                )
            )
            nodes.append("http://127.0.0.1:\(port)")
        }
        for node in nodes {
            try await eventually(timeout: 30, "\(node) answers") { (try? await http(node + "/healthz").status) == 200 }
        }
        // One address, asked for once through each node: the third request, wherever it goes, is refused.
        #expect(try await postForm(nodes[0] + "/subscribe", "email=same@example.se") == 200)
        #expect(try await postForm(nodes[1] + "/subscribe", "email=same@example.se") == 200)
        #expect(try await postForm(nodes[0] + "/subscribe", "email=same@example.se") == 429)
        // Six requests from this client in all, three through each node; the seventh is refused on either.
        for index in 0..<3 {
            #expect(try await postForm(nodes[1] + "/subscribe", "email=other\(index)@example.se") == 200)
        }
        #expect(try await postForm(nodes[0] + "/subscribe", "email=last@example.se") == 429)
        #expect(try await postForm(nodes[1] + "/subscribe", "email=last@example.se") == 429)
        // What the database holds: hashes and counts, no address and no IP.
        let windows = try cluster.psql("SELECT keyHash || ' ' || count FROM rateWindow ORDER BY count").output
        #expect(!windows.contains("example.se") && !windows.contains("127.0.0.1"), "\(windows)")
        #expect(windows.split(separator: "\n").count == 5, "\(windows)")  // the client, four addresses
        for process in processes {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("a node whose secret differs from the other nodes' refuses to start and says what to copy; a rotation in two steps passes")
    func sameSecretEverywhere() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let (old, new) = (String(repeating: "0ld-key-", count: 5), String(repeating: "n3w-key-", count: 5))
        let shared = ["KUVERT_DATABASE": cluster.url, "KUVERT_SMTP_URL": "smtp://127.0.0.1:9"]
        try FileManager.default.createDirectory(atPath: kuvert.dataDirectory, withIntermediateDirectories: true)
        /// Starts a worker with `secret`; true once it recorded its key, false when it refused to start.
        func start(_ secret: String) async throws -> (started: Bool, stderr: String) {
            let log = kuvert.dataDirectory + "/worker-\(UUID().uuidString).log"
            let metrics = "127.0.0.1:\(try freeLoopbackPort())"
            let worker = try kuvert.start(
                "worker",
                "--metrics-listen",
                metrics,
                environment: shared.merging(["KUVERT_SECRET": secret]) { $1 },
                log: log
            )
            defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
            // Up (its /healthz answers, so it handles SIGTERM) or gone.
            try await eventually(timeout: 30, "the worker started or refused") {
                guard worker.isRunning else { return true }
                return (try? await http("http://\(metrics)/healthz").status) == 200
            }
            guard worker.isRunning else {
                return (false, try String(contentsOfFile: log, encoding: .utf8))
            }
            kill(worker.processIdentifier, SIGTERM)
            worker.waitUntilExit()
            #expect(worker.terminationStatus == 0)
            return (true, "")
        }
        #expect(try await start(old).started)
        // A node set up on its own, with a key of its own: refused, in one line that says what to do.
        let stranger = try await start(new)
        #expect(!stranger.started)
        #expect(
            stranger.stderr.contains("signs links with a key this node does not have")
                && stranger.stderr.contains("copy secret.key"),
            "\(stranger.stderr)"
        )
        #expect(!stranger.stderr.contains(old) && !stranger.stderr.contains(new))
        // Rotation: the new key beside the old on every node, then first.
        #expect(try await start("\(old),\(new)").started)
        #expect(try await start("\(new),\(old)").started)
        // A node that still has only the old key no longer verifies what the others sign.
        #expect(try await !start(old).started)
        #expect(try cluster.psql("SELECT count(*) FROM signingKey").output == "2\n")
    }

    @Test(
        "PostgreSQL killed: requests are answered 503 with Retry-After within the patience, /healthz 503, one log line; all well after the restart",
        .timeLimit(.minutes(4))
    )
    func databaseCrash() async throws {
        let cluster = try PostgresCluster()
        let kuvert = await KuvertCommand(migrate: false)
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let shared = [
            "KUVERT_DATABASE": cluster.url, "KUVERT_SECRET": Self.secret, "KUVERT_SMTP_URL": "smtp://127.0.0.1:9",
            "KUVERT_RATE_LIMIT": "100000/1m", "KUVERT_ADDRESS_RATE_LIMIT": "100000/1m",
        ]
        #expect(try await kuvert.run(["migrate"], environment: shared).status == 0)
        let terms = try kuvert.writeTerms("Terms")
        #expect(try await kuvert.run(["lists", "add", "news", "--name", "News", "--terms", terms], environment: shared).status == 0)
        let port = try freeLoopbackPort()
        let node = "http://127.0.0.1:\(port)"
        let log = kuvert.dataDirectory + "/serve.log"
        let serve = try kuvert.start(
            "serve",
            "--no-mailer",
            environment: shared.merging(["KUVERT_LISTEN": "127.0.0.1:\(port)"]) { $1 },
            log: log
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "the node answers") { (try? await http(node + "/healthz").status) == 200 }

        /// Posts `count` subscriptions at once; each answer's status, Retry-After and body, and the longest wait.
        func wave(_ name: String, count: Int) async throws -> (answers: [(Int, String?, String)], longest: Duration) {
            let clock = ContinuousClock()
            return try await withThrowingTaskGroup(of: ((Int, String?, String), Duration).self) { group in
                for index in 0..<count {
                    group.addTask {
                        let started = clock.now
                        var request = URLRequest(url: URL(string: node + "/subscribe")!, timeoutInterval: 120)
                        request.httpMethod = "POST"
                        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                        request.httpBody = Data(#"{"email":"\#(name)\#(index)@example.se"}"#.utf8)
                        let (data, response) = try await URLSession.shared.data(for: request)
                        let http = response as? HTTPURLResponse
                        return (
                            (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Retry-After"), String(decoding: data, as: UTF8.self)),
                            clock.now - started
                        )
                    }
                }
                var answers: [(Int, String?, String)] = []
                var longest = Duration.zero
                for try await (answer, waited) in group {
                    answers.append(answer)
                    longest = max(longest, waited)
                }
                return (answers, longest)
            }
        }

        let before = try await wave("before", count: 10)
        #expect(before.answers.allSatisfy { $0.0 == 202 }, "\(before.answers)")
        try cluster.crash()
        let during = try await wave("during", count: 20)
        #expect(during.answers.allSatisfy { $0.0 == 503 && $0.1 == "30" && $0.2.contains("store_unavailable") }, "\(during.answers)")
        // The store's patience is 10 s: nobody waits much longer than that for an answer.
        #expect(during.longest < .seconds(20), "\(during.longest)")
        #expect(try await http(node + "/healthz").status == 503)
        try cluster.restart()
        try await eventually(timeout: 60, "/healthz ok after the restart") { (try? await http(node + "/healthz").status) == 200 }
        let after = try await wave("after", count: 40)
        #expect(after.answers.allSatisfy { $0.0 == 202 }, "\(after.answers.map(\.0))")
        #expect(after.longest < .seconds(10), "\(after.longest)")
        // Everything answered 202 is stored; nothing of the outage is.
        #expect(try cluster.psql("SELECT count(*) FROM subscriber WHERE address LIKE 'before%' OR address LIKE 'after%'").output == "50\n")
        #expect(try cluster.psql("SELECT count(*) FROM subscriber WHERE address LIKE 'during%'").output == "0\n")

        // A crash under load: requests in flight at the kill are answered too, within the patience.
        let stop = Date().addingTimeInterval(2)
        let load = Task {
            try await withThrowingTaskGroup(of: [(Int, Duration)].self) { group in
                for loop in 0..<8 {
                    group.addTask {
                        var answers: [(Int, Duration)] = []
                        var index = 0
                        while Date() < stop {
                            let clock = ContinuousClock()
                            let started = clock.now
                            var request = URLRequest(url: URL(string: node + "/subscribe")!, timeoutInterval: 120)
                            request.httpMethod = "POST"
                            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                            request.httpBody = Data(#"{"email":"load\#(loop)x\#(index)@example.se"}"#.utf8)
                            // A request without an answer counts as the negated URLError code (a timeout: -(-1001)).
                            do {
                                let status = try await (URLSession.shared.data(for: request).1 as? HTTPURLResponse)?.statusCode
                                answers.append((status ?? 0, clock.now - started))
                            } catch let error as URLError {
                                answers.append((-error.errorCode, clock.now - started))
                            }
                            index += 1
                        }
                        return answers
                    }
                }
                return try await group.reduce(into: [(Int, Duration)]()) { $0 += $1 }
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        try cluster.crash()
        let answers = try await load.value
        let serveLog = {
            (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").filter { !$0.contains("subscription request") }.suffix(30)
                .joined(separator: "\n") ?? ""
        }
        // 202 or 503; a keep-alive connection that URLSession found closed as it
        // reused it (-1005, seen once in ten runs, within the bound) is an answer
        // too, if not an HTTP one. A timeout (-1001) or anything else is not.
        #expect(answers.allSatisfy { [202, 503, 1005].contains($0.0) }, "\(answers.map(\.0))\n\(serveLog())")
        #expect(answers.contains { $0.0 == 503 } && answers.contains { $0.0 == 202 })
        // A lease gets the patience (10 s), a statement under way the store's
        // deadline (30 s from the call): a statement the killed server never
        // answers ends there, with a 503. The margin is for a busy machine.
        #expect(answers.map(\.1).max() ?? .zero < .seconds(45), "\(answers.map(\.1).max() ?? .zero)")
        try cluster.restart()
        try await eventually(timeout: 60, "/healthz ok after the second restart") { (try? await http(node + "/healthz").status) == 200 }
        let stored = Int(
            try cluster.psql("SELECT count(*) FROM subscriber WHERE address LIKE 'load%'").output.trimmingCharacters(in: .whitespacesAndNewlines)
        )
        // Every 202 was stored (a request cut off mid-commit may be stored and answered 503: sent again, it is the same person).
        #expect((stored ?? -1) >= answers.filter { $0.0 == 202 }.count, "\(stored ?? -1) stored")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let failures = lines.filter { $0.contains(": requests answer 503") }
        #expect((1...3).contains(failures.count), "\(failures)")
        #expect(lines.contains { $0.contains("store takes writes again") }, "\(lines.suffix(20))")
        #expect(!lines.joined().contains("@example.se"))
    }

    /// Posts a form and returns the status.
    func postForm(_ url: String, _ body: String) async throws -> Int {
        try await http(url, method: "POST", form: body).status
    }
}
