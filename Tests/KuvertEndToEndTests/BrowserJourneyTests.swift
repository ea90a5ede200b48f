import Foundation
import GRDB
import KuvertTestSupport
import Testing

@testable import KuvertCore

#if canImport(FoundationNetworking)
import FoundationNetworking
import KuvertFixtures
@testable import KuvertSQLite
#endif

@Suite("The subscriber's journey in headless Chromium", .serialized)
struct BrowserJourneyTests {
    /// Where the screenshots go; the README shows them.
    static let screenshots = TestPaths.root.appendingPathComponent("docs/screenshots").path

    @Test("website form, check-your-inbox, the mail's link, terms ticked by keyboard, welcome, a newsletter's unsubscribe link, unsubscribed")
    func journey() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let terms = try kuvert.writeTerms(
            """
            # Villkor för Föreningens nyhetsbrev

            Vi skickar nyhetsbrevet ungefär en gång i månaden till den adress du har bekräftat.

            **Personuppgifter:** vi sparar din e-postadress, ditt namn om du anger det, och när och varifrån \
            du bekräftade. Du kan när som helst avsluta prenumerationen, ladda ned eller radera dina uppgifter.
            """
        )
        #expect(try await kuvert.run("lists", "add", "nyheter", "--name", "Föreningens nyheter", "--terms", terms, "--locale", "sv").status == 0)
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let environment = ["KUVERT_SMTP_URL": smtp.url, "KUVERT_BASE_URL": base]
        let serve = try kuvert.start(
            "serve",
            "--listen",
            "127.0.0.1:\(port)",
            environment: environment,
            log: kuvert.dataDirectory + "/serve.log"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 20, "the server answers") { (try? await http(base + "/healthz"))?.status == 200 }

        let result = try await runScript(
            "journey.py",
            arguments: ["--base", base, "--mail-dir", smtp.directory, "--list", "nyheter"],
            kuvert: kuvert,
            environment: environment
        )
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#""ok": true"#), "\(result.output)")

        // What the browser did is what the store holds.
        let store = try SQLiteStore.open(path: kuvert.dataDirectory + "/kuvert.sqlite")
        let record = try #require(try await store.subscriberRecord(address: try EmailAddress("marta.svensson@example.se")))
        let subscription = try #require(record.subscriptions.first)
        #expect(subscription.subscription.status == .unsubscribed)
        #expect(subscription.subscription.language == .sv)
        #expect(subscription.consent.map(\.kind) == [.requested, .confirmed, .withdrawn])
        #expect(subscription.consent.map(\.source) == ["form", "confirm-page", "unsubscribe-page"])
        #expect(subscription.subscription.name == "Märta Svensson")
        for step in ["1-website-form", "2-check-inbox", "3-terms", "4-welcome", "5-manage", "6-manage-saved", "7-unsubscribe", "8-unsubscribed"] {
            for width in ["phone", "desktop"] {
                let path = Self.screenshots + "/\(step)-\(width).png"
                let bytes = try #require(FileManager.default.contents(atPath: path), "\(path)")
                #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(path) is not a PNG")
            }
        }
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }

    @Test("the form in a website's iframe: it fits, its answers show in the frame; each mail fits a phone")
    func framedForm() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let terms = try kuvert.writeTerms("# Villkor\n\nVi skickar nyhetsbrevet en gång i månaden.")
        #expect(try await kuvert.run("lists", "add", "nyheter", "--name", "Föreningens nyheter", "--terms", terms, "--locale", "sv").status == 0)
        let (port, sitePort) = (try freeLoopbackPort(), try freeLoopbackPort())
        let base = "http://127.0.0.1:\(port)"
        // The website is named, as an operator names theirs; the form posts at once.
        let environment = [
            "KUVERT_SMTP_URL": smtp.url, "KUVERT_BASE_URL": base, "KUVERT_FORM_MIN_SECONDS": "0",
            "KUVERT_FRAME_ANCESTORS": "http://127.0.0.1:\(sitePort)",
        ]
        let serve = try kuvert.start(
            "serve",
            "--listen",
            "127.0.0.1:\(port)",
            environment: environment,
            log: kuvert.dataDirectory + "/serve.log"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 20, "the server answers") { (try? await http(base + "/healthz"))?.status == 200 }
        // Framable by the named site only, and only the form and its answers.
        let form = try await headers(base + "/form?list=nyheter&locale=sv")
        #expect(form["Content-Security-Policy"]?.contains("frame-ancestors http://127.0.0.1:\(sitePort);") == true)
        #expect(form["X-Frame-Options"] == nil)
        #expect(try await headers(base + "/privacy")["X-Frame-Options"] == "DENY")

        let result = try await runScript(
            "frame.py",
            arguments: ["--base", base, "--site-port", String(sitePort), "--mail-dir", smtp.directory, "--list", "nyheter"],
            kuvert: kuvert,
            environment: environment
        )
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#""ok": true"#), "\(result.output)")
        // What the framed form sent is what the store holds: the name too.
        let store = try SQLiteStore.open(path: kuvert.dataDirectory + "/kuvert.sqlite")
        let record = try #require(try await store.subscriberRecord(address: try EmailAddress("marta.svensson@example.se")))
        #expect(record.subscriptions.first?.subscription.status == .active)
        #expect(record.subscriptions.first?.subscription.name == "Märta")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
    }

    @Test("two lists from one embedded form, one confirmed on its page; a new address from the privacy page, confirmed by its owner")
    func consentThroughChange() async throws {
        let smtp = try SMTPTestServer()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let terms = try kuvert.writeTerms("# Villkor\n\nVi skickar nyheter en gång i månaden.")
        let events = try kuvert.writeTerms("# Villkor för evenemang\n\nInbjudningar några gånger om året.")
        #expect(try await kuvert.run("lists", "add", "nyheter", "--name", "Nyheter", "--terms", terms, "--locale", "sv").status == 0)
        #expect(
            try await kuvert.run(
                "lists",
                "add",
                "evenemang",
                "--name",
                "Evenemang",
                "--terms",
                events,
                "--locale",
                "sv",
                "--description",
                "Inbjudningar till våra träffar."
            ).status == 0
        )
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let environment = ["KUVERT_SMTP_URL": smtp.url, "KUVERT_BASE_URL": base, "KUVERT_FORM_MIN_SECONDS": "0"]
        let serve = try kuvert.start("serve", "--listen", "127.0.0.1:\(port)", environment: environment, log: kuvert.dataDirectory + "/serve.log")
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 20, "the server answers") { (try? await http(base + "/healthz"))?.status == 200 }

        let result = try await runScript(
            "changes.py",
            arguments: ["--base", base, "--mail-dir", smtp.directory],
            kuvert: kuvert,
            environment: environment
        )
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#""ok": true"#), "\(result.output)")

        // What the browser did is what the store holds.
        let store = try SQLiteStore.open(path: kuvert.dataDirectory + "/kuvert.sqlite")
        #expect(try await store.subscriberRecord(address: try EmailAddress("karin@example.se")) == nil)
        let record = try #require(try await store.subscriberRecord(address: try EmailAddress("karin.ny@example.se")))
        #expect(record.subscriptions.map { "\($0.list.slug) \($0.subscription.status.rawValue)" } == ["nyheter pending", "evenemang active"])
        #expect(record.subscriptions[1].consent.map(\.kind) == [.requested, .confirmed, .rectified, .confirmed])
        #expect(record.subscriptions[1].consent.last?.source == "reconsent")
        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
    }

    /// The headers of a GET's answer.
    private func headers(_ url: String) async throws -> [String: String] {
        let (_, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.allHeaderFields as? [String: String]) ?? [:]
    }

    /// Runs a script of Tests/Browser on a thread of its own (it blocks for
    /// seconds) and returns its status and output. Every script gets the kuvert
    /// binary, Deploy/form.html and the screenshots' directory.
    private func runScript(
        _ script: String,
        arguments: [String],
        kuvert: KuvertCommand,
        environment: [String: String]
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [TestPaths.root.appendingPathComponent("Tests/Browser/" + script).path] + arguments + [
                "--kuvert", KuvertCommand.executable.path,
                "--form", TestPaths.root.appendingPathComponent("Deploy/form.html").path, "--shots", Self.screenshots,
            ]
        process.environment = [
            "KUVERT_DATA_DIR": kuvert.dataDirectory, "KUVERT_TEMPLATES": TestApp.templatesDirectory, "PATH": "/usr/bin:/bin",
            "HOME": FileManager.default.temporaryDirectory.path,
        ].merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    try process.run()
                    let output = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }
}
