import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("Rate limits and the client's address")
struct RateLimitTests {
    @Test("one client over its limit gets 429 with Retry-After and stores nothing more")
    func perClient() async throws {
        let app = try await TestApp(clientRateLimit: .init(count: 3, window: 60))
        try await app.addList()
        try await app.application.test(.live) { client in
            for index in 0..<3 {
                let allowed = try await client.postJSON("/subscribe", #"{"email":"reader\#(index)@example.se"}"#)
                #expect(allowed.status == .accepted)
            }
            let limited = try await client.postJSON("/subscribe", #"{"email":"reader9@example.se"}"#)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.text.contains("rate_limited"))
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect((1...60).contains(retryAfter))
            let page = try await client.postForm("/privacy/request", "email=reader0%40example.se")
            #expect(page.status == .tooManyRequests)
            #expect(page.headers[.retryAfter] != nil)
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber") == 3)
    }

    @Test("one target address is limited whoever asks, known or not: the same 429 either way")
    func perAddress() async throws {
        let app = try await TestApp(addressRateLimit: .init(count: 2, window: 3_600))
        try await app.addList()
        try await app.application.test(.router) { client in
            var answers: [String] = []
            for email in ["known@example.se", "unknown@example.se"] {
                if email.hasPrefix("known") {
                    _ = try await app.store.request(email)
                }
                for attempt in 0..<3 {
                    let response = try await client.postJSON("/subscribe", #"{"email":"\#(email.uppercased())"}"#)
                    #expect(response.status == (attempt < 2 ? .accepted : .tooManyRequests))
                    // The wait counts down by the second between the two; what matters is that nothing else differs.
                    if attempt == 2 { answers.append(response.text.replacing(/\d+ seconds/, with: "N seconds")) }
                }
            }
            #expect(answers.count == 2 && answers[0] == answers[1])
        }
    }

    @Test("quoted spellings of one address share its limit, its resend window and its person")
    func quotedSpellings() async throws {
        let app = try await TestApp(addressRateLimit: .init(count: 2, window: 3_600))
        try await app.addList()
        try await app.application.test(.router) { client in
            for email in ["victim@example.se", #"\"victim\"@example.se"#] {
                #expect(try await client.postJSON("/subscribe", #"{"email":"\#(email)"}"#).status == .accepted)
            }
            // Each of these spelled the same mailbox before it was canonical.
            for email in [#"\"\\victim\"@example.se"#, #"\"VICTIM\"@example.se"#, #"\"\\v\\i\\c\\t\\i\\m\"@example.se"#] {
                let limited = try await client.postJSON("/subscribe", #"{"email":"\#(email)"}"#)
                #expect(limited.status == .tooManyRequests, "\(email)")
            }
            // A quoted part the mailer cannot send to is refused at intake.
            let unsendable = try await client.postJSON("/subscribe", #"{"email":"\"a b\"@example.se"}"#)
            #expect(unsendable.status == .unprocessableContent)
            #expect(unsendable.text.contains("without quotes"))
        }
        #expect(try await app.count("SELECT count(*) FROM subscriber") == 1)
        #expect(try await app.count("SELECT count(*) FROM outboxMessage") == 1)
    }

    @Test("IPv6 clients are counted by their /64: forty addresses of one network share one limit")
    func ipv6Prefix() async throws {
        let app = try await TestApp(clientRateLimit: .init(count: 5, window: 60), trustedProxies: ["127.0.0.0/8"])
        try await app.addList()
        try await app.application.test(.live) { client in
            var accepted = 0
            for index in 0..<40 {
                let peer = "2001:db8:1:2:\(String(index, radix: 16)):\(index * 7):0:\(index + 1)"
                let response = try await client.postJSON(
                    "/subscribe",
                    #"{"email":"reader\#(index)@example.se"}"#,
                    headers: [.xForwardedFor: peer]
                )
                if response.status == .accepted { accepted += 1 } else { #expect(response.status == .tooManyRequests) }
            }
            #expect(accepted == 5)
            // Another /64 of the same provider is another client.
            let neighbour = try await client.postJSON(
                "/subscribe",
                #"{"email":"neighbour@example.se"}"#,
                headers: [.xForwardedFor: "2001:db8:1:3::1"]
            )
            #expect(neighbour.status == .accepted)
        }
    }

    @Test("client keys: IPv6 by prefix, mapped IPv4 as IPv4, other text as itself")
    func clientKeys() {
        let one = ClientKey.key(for: "2001:db8::1", ipv6PrefixLength: 64)
        #expect(one == ClientKey.key(for: "2001:DB8:0:0:ffff:1:2:3", ipv6PrefixLength: 64))
        #expect(one == ClientKey.key(for: "2001:db8::1%eth0", ipv6PrefixLength: 64))
        #expect(one != ClientKey.key(for: "2001:db8:0:1::1", ipv6PrefixLength: 64))
        #expect(ClientKey.key(for: "2001:db8:0:1::1", ipv6PrefixLength: 48) == ClientKey.key(for: "2001:db8::1", ipv6PrefixLength: 48))
        #expect(ClientKey.key(for: "2001:db8::1", ipv6PrefixLength: 128) != ClientKey.key(for: "2001:db8::2", ipv6PrefixLength: 128))
        #expect(ClientKey.key(for: "::ffff:192.0.2.7", ipv6PrefixLength: 64) == "192.0.2.7")
        #expect(ClientKey.key(for: "192.0.2.7", ipv6PrefixLength: 64) == "192.0.2.7")
        #expect(ClientKey.key(for: "not an address", ipv6PrefixLength: 64) == "not an address")
    }

    @Test("X-Forwarded-For counts only from a trusted proxy, and names the client in the ledger")
    func forwardedFor() async throws {
        let trusted = try await TestApp(trustedProxies: ["127.0.0.0/8"])
        try await trusted.addList()
        try await trusted.application.test(.live) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"a@example.se"}"#, headers: [.xForwardedFor: "203.0.113.5, 127.0.0.1"])
        }
        #expect(try await trusted.count("SELECT count(*) FROM consentEvent WHERE ip = '203.0.113.5'") == 1)

        let untrusted = try await TestApp()
        try await untrusted.addList()
        try await untrusted.application.test(.live) { client in
            _ = try await client.postJSON("/subscribe", #"{"email":"a@example.se"}"#, headers: [.xForwardedFor: "203.0.113.5"])
        }
        #expect(try await untrusted.count("SELECT count(*) FROM consentEvent WHERE ip = '127.0.0.1'") == 1)
    }

    @Test("trusted proxy entries: addresses and IPv4 ranges")
    func proxies() {
        let proxies = TrustedProxies(["10.0.0.0/8", "192.0.2.1", "::1"])
        #expect(proxies.contains("10.1.2.3") && proxies.contains("192.0.2.1") && proxies.contains("::1"))
        #expect(!proxies.contains("11.0.0.1") && !proxies.contains("192.0.2.2"))
        #expect(proxies.clientAddress(peer: "10.0.0.9", forwardedFor: "198.51.100.1, 10.0.0.4") == "198.51.100.1")
        #expect(proxies.clientAddress(peer: "198.51.100.2", forwardedFor: "1.2.3.4") == "198.51.100.2")
        #expect(TrustedProxies.isValid("10.0.0.0/8") && !TrustedProxies.isValid("10.0.0.0/33") && !TrustedProxies.isValid("example.com"))
    }
}
