import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Logging
import Prometheus
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("Webhooks to a website that is down for a while")
struct WebhookDeliveryTests {
    static let secret = "whsec-" + String(repeating: "7f", count: 16)

    @Test(
        "a receiver that is down, then answers 503, then comes back gets every event, signed, in order per subscription; events of a person erased meanwhile carry no address"
    )
    func downThenBack() async throws {
        let app = try await TestApp()
        try await app.addList()
        try await app.store.setWebhooks(enabled: true)
        let receiver = try WebhookReceiver(secret: Self.secret, failFirst: 2)
        let origin = RequestOrigin(ip: nil, userAgent: nil, source: "web")

        // While nobody listens: Ann confirms and leaves; Bo confirms and is
        // erased through the API; Cy confirms, leaves, and comes back.
        let ann = try await app.store.activate("ann@example.se")
        _ = try await app.store.unsubscribe(subscriptionId: ann, origin: origin, now: Date())
        let bo = try await app.store.activate("bo@example.se")
        let token = APIToken.newSecret()
        _ = try await app.store.createAPIToken(name: "crm", tokenHash: APIToken.hash(token), actor: "test", now: Date())
        try await app.application.test(.router) { client in
            let erased = try await client.execute(
                uri: "/api/v1/subscribers/bo%40example.se",
                method: .delete,
                headers: [.authorization: "Bearer \(token)"]
            )
            #expect(erased.status == .noContent)
        }
        let cy = try await app.store.activate("cy@example.se")
        _ = try await app.store.unsubscribe(subscriptionId: cy, origin: origin, now: Date())
        #expect(try await app.store.activate("cy@example.se") == cy)

        var mailer = MailerSettings()
        mailer.retryBase = 0.2
        mailer.retryLimit = 30
        var logger = Logger(label: "webhook-test")
        logger.logLevel = .critical
        let sender = WebhookSender(
            settings: WebhookSettings(url: receiver.url, secret: Self.secret),
            store: app.store,
            mailer: mailer,
            holder: .current,
            metrics: app.dependencies.metrics,
            logger: logger,
            idle: .milliseconds(50)
        )
        let running = Task { try await sender.run() }
        defer { running.cancel() }

        // Down: every first event is refused at least twice.
        try await eventually(timeout: 30, "failed attempts while the receiver is down") {
            (try? await app.count("SELECT count(*) FROM webhookEvent WHERE attempts >= 2")) ?? 0 >= 3
        }
        #expect(try await app.count("SELECT count(*) FROM webhookEvent WHERE status = 'sent'") == 0)
        try await receiver.start()
        try await eventually(timeout: 60, "every event sent once the receiver is back") {
            (try? await app.count("SELECT count(*) FROM webhookEvent WHERE status != 'sent'")) == 0
        }
        running.cancel()

        let lines = receiver.received()
        #expect(!lines.contains("BAD-SIGNATURE"))
        let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        func sequence(_ subscription: Int64) -> [String] {
            events.filter { $0["subscription"] as? Int == Int(subscription) }.compactMap { $0["event"] as? String }
        }
        #expect(events.count == 8, "\(lines)")
        #expect(sequence(ann) == ["subscription.confirmed", "subscription.unsubscribed"])
        #expect(sequence(bo) == ["subscription.confirmed", "subscription.unsubscribed", "subscriber.erased"])
        #expect(sequence(cy) == ["subscription.confirmed", "subscription.unsubscribed", "subscription.confirmed"])
        #expect(events.allSatisfy { $0["list"] as? String == "news" && $0["at"] is String })
        // Rendered when sent: Bo was erased before any of his events left.
        #expect(events.filter { $0["subscription"] as? Int == Int(bo) }.allSatisfy { $0["email"] == nil })
        #expect(events.filter { $0["subscription"] as? Int == Int(cy) }.allSatisfy { $0["email"] as? String == "cy@example.se" })
        #expect(!lines.joined().contains("bo@example.se"))
        var metrics = [UInt8]()
        app.dependencies.registry.emit(into: &metrics)
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains(#"kuvert_webhooks_total{event="subscription.confirmed",result="retry"}"#), "\(text)")
        #expect(text.contains(#"kuvert_webhooks_total{event="subscriber.erased",result="sent"} 1"#), "\(text)")
    }

    @Test(
        "kuvert serve with KUVERT_WEBHOOK_URL: an opt-in started over the API, confirmed through the mail's link, then erased over the API, reaches the website signed, over real HTTP"
    )
    func serve() async throws {
        let smtp = try SMTPTestServer()
        let receiver = try WebhookReceiver(secret: Self.secret)
        try await receiver.start()
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        _ = try await kuvert.newsList()
        let created = try await kuvert.run("api-token", "create", "crm")
        let token = try #require(created.stdout.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("kuvert_") })
        let port = try freeLoopbackPort()
        let base = "http://127.0.0.1:\(port)"
        let serve = try kuvert.start(
            "serve",
            environment: [
                "KUVERT_LISTEN": "127.0.0.1:\(port)", "KUVERT_SMTP_URL": smtp.url, "KUVERT_BASE_URL": base,
                "KUVERT_WEBHOOK_URL": receiver.url, "KUVERT_WEBHOOK_SECRET": Self.secret,
            ],
            log: kuvert.dataDirectory + "/serve.log"
        )
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        try await eventually(timeout: 30, "kuvert serve answers") { (try? await http(base + "/healthz").status) == 200 }

        let auth = ["Authorization": "Bearer \(token)"]
        let started = try await http(base + "/api/v1/subscriptions", method: "POST", json: #"{"email":"eva@example.se"}"#, headers: auth)
        #expect(started.status == 202)
        try await smtp.waitFor(timeout: 30) { smtp.messages().count == 1 }
        let text = try #require(try smtp.messages().first?.parsed().part("text/plain")).content
        let link = try #require(text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix(base + "/confirm/") })
        #expect(try await http(String(link), method: "POST", form: "accept_terms=yes&terms_version=1").status == 200)
        try await eventually(timeout: 30, "the confirmation reaches the website") { receiver.received().count == 1 }
        #expect(try await http(base + "/api/v1/subscribers/eva%40example.se", method: "DELETE", headers: auth).status == 204)
        try await eventually(timeout: 30, "the erasure reaches the website") { receiver.received().count == 3 }

        let events = try receiver.received().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(
            events.compactMap { $0["event"] as? String }
                == ["subscription.confirmed", "subscription.unsubscribed", "subscriber.erased"]
        )
        #expect(events[0]["email"] as? String == "eva@example.se" && events.dropFirst().allSatisfy { $0["email"] == nil })
        #expect(Set(events.compactMap { $0["subscription"] as? Int }).count == 1)
        let log = try String(contentsOfFile: kuvert.dataDirectory + "/serve.log", encoding: .utf8)
        #expect(!log.contains(Self.secret) && !log.contains("eva@example.se"))
    }

    @Test("kuvert queue shows the webhook outbox: counts and the events waiting, with no address")
    func queueCommand() async throws {
        let kuvert = await KuvertCommand()
        defer { try? FileManager.default.removeItem(atPath: kuvert.dataDirectory) }
        let store = try await kuvert.newsList()
        #expect(try await !kuvert.run("queue").stdout.contains("Webhooks:"))
        try await store.setWebhooks(enabled: true)
        _ = try await store.activate("ann@example.se")
        let queue = try await kuvert.run("queue")
        #expect(queue.status == 0 && queue.stdout.contains("Webhooks: queued 1, leased 0, sent 0, failed 0"), "\(queue.stdout)")
        let row = try #require(queue.stdout.split(separator: "\n").first { $0.contains("subscription.confirmed") })
        #expect(row.contains("news") && row.contains("queued") && !row.contains("ann@"), "\(row)")
    }
}
