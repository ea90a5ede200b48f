import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

/// The answers are byte for byte the same whatever the address's state; these
/// tests check that their timing is too, as a client timing a few hundred
/// requests would: interleaved in random order, compared by a rank test.
@Suite("No enumeration by timing", .serialized)
struct TimingTests {
    /// The Mann-Whitney U statistic of `first` against `second` as a z-score
    /// (normal approximation; ties get their mean rank). Near 0 when neither
    /// sample tends to be larger.
    static func rankTestZ(_ first: [Double], _ second: [Double]) -> Double {
        let pooled = (first.map { ($0, 0) } + second.map { ($0, 1) }).sorted { $0.0 < $1.0 }
        var ranks = [Double](repeating: 0, count: pooled.count)
        var start = 0
        while start < pooled.count {
            var end = start
            while end + 1 < pooled.count && pooled[end + 1].0 == pooled[start].0 { end += 1 }
            for index in start...end { ranks[index] = Double(start + end) / 2 + 1 }
            start = end + 1
        }
        let n1 = Double(first.count)
        let n2 = Double(second.count)
        let rankSum = zip(pooled, ranks).filter { $0.0.1 == 0 }.map(\.1).reduce(0, +)
        let u = rankSum - n1 * (n1 + 1) / 2
        return (u - n1 * n2 / 2) / (n1 * n2 * (n1 + n2 + 1) / 12).squareRoot()
    }

    @Test("the rank test itself: the same distribution scores near 0, a shifted one far from it")
    func rankTest() {
        var generator = SystemRandomNumberGenerator()
        let base = (0..<300).map { _ in Double.random(in: 1...2, using: &generator) }
        let same = (0..<300).map { _ in Double.random(in: 1...2, using: &generator) }
        #expect(abs(Self.rankTestZ(base, same)) < 4)
        #expect(Self.rankTestZ(base, same.map { $0 + 0.2 }) < -5)
        #expect(abs(Self.rankTestZ([1, 2, 3], [1, 2, 3])) < 0.001)
    }

    /// Times `rounds` pairs of requests, one for `known` and one for a new
    /// address each time, in random order within each pair, through `client`.
    static func timings(
        _ client: some TestClientProtocol,
        path: String,
        known: String,
        rounds: Int
    ) async throws -> (known: [Double], new: [Double]) {
        var knownTimes: [Double] = []
        var newTimes: [Double] = []
        let clock = ContinuousClock()
        let run = UUID().uuidString.prefix(8)
        func post(_ email: String) async throws -> Double {
            let start = clock.now
            let response = try await client.postJSON(path, #"{"email":"\#(email)"}"#, headers: [.accept: "application/json"])
            let elapsed = start.duration(to: clock.now)
            #expect(response.status == .accepted)
            return Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        }
        // Warm both paths first (first use of statements, pages, the mailer).
        for index in 0..<20 {
            _ = try await post(known)
            _ = try await post("warm-\(run)-\(index)@example.se")
        }
        for index in 0..<rounds {
            if Bool.random() {
                knownTimes.append(try await post(known))
                newTimes.append(try await post("new-\(run)-\(index)@example.se"))
            } else {
                newTimes.append(try await post("new-\(run)-\(index)@example.se"))
                knownTimes.append(try await post(known))
            }
        }
        return (knownTimes, newTimes)
    }

    /// A live server with its mailer sending to a real SMTP server, as `kuvert serve` runs.
    static func withServer(_ body: @escaping @Sendable (TestApp, any TestClientProtocol) async throws -> Void) async throws {
        let server = try SMTPTestServer()
        let box = MailerBox()
        let app = try await TestApp(smtpURL: server.url, mailer: box)
        try await app.addList()
        let mailer = try app.makeMailer()
        box.mailer = mailer
        let mailerTask = Task { try await mailer.run() }
        defer { mailerTask.cancel() }
        try await app.application.test(.live) { client in try await body(app, client) }
        // The new addresses' confirmations went out meanwhile: the mailer really ran.
        #expect(server.messages().count > 0)
    }

    @Test("POST /subscribe takes as long for an active address as for a new one")
    func subscribe() async throws {
        try await Self.withServer { app, client in
            _ = try await client.postJSON("/subscribe", #"{"email":"known@example.se"}"#)
            try await app.store.writer.write { db in
                try db.execute(sql: "UPDATE subscription SET status = 'active', confirmedAt = requestedAt")
            }
            let times = try await Self.timings(client, path: "/subscribe", known: "known@example.se", rounds: 250)
            let z = Self.rankTestZ(times.known, times.new)
            // Two-sided, p < 0.001 under "no difference".
            #expect(abs(z) < 3.29, "z = \(z): the answer's timing tells an active address from a new one")
        }
    }

    @Test("POST /privacy/request takes as long for a known address as for an unknown one")
    func privacyRequest() async throws {
        try await Self.withServer { app, client in
            _ = try await client.postJSON("/subscribe", #"{"email":"known@example.se"}"#)
            let times = try await Self.timings(client, path: "/privacy/request", known: "known@example.se", rounds: 250)
            let z = Self.rankTestZ(times.known, times.new)
            #expect(abs(z) < 3.29, "z = \(z): the answer's timing tells a known address from an unknown one")
        }
    }
}
