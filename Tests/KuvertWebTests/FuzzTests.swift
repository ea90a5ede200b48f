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

@Suite("Hostile input at a live server")
struct FuzzTests {
    static let injections = [
        "'; DROP TABLE subscriber; --", "\" OR 1=1 --", "<script>alert(1)</script>", "{{name}}", "{{{bodyHTML}}}",
        "a@b.se\r\nBcc: victim@example.com", "%0d%0aSet-Cookie: x=1", "../../../../etc/passwd", "\u{0}", "\u{202E}moc.evil",
        "=?UTF-8?B?PHNjcmlwdD4=?=", String(repeating: "A", count: 5000), "😀@😀.😀", "anna@[127.0.0.1]",
    ]

    static func garbage(_ random: inout SplitMix64, length: Int) -> [UInt8] {
        (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    static func percentEncoded(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%%%02X", $0) }.joined()
    }

    /// One generated request: method, path, content type, body.
    static func request(_ random: inout SplitMix64) -> (HTTPRequest.Method, String, String?, [UInt8]) {
        let pick = { (choices: [String], random: inout SplitMix64) in choices[Int.random(in: 0..<choices.count, using: &random)] }
        let injection = pick(injections, &random)
        let types = [
            "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded; charset=latin1",
        ]
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return (.post, "/subscribe", pick(types, &random), garbage(&random, length: Int.random(in: 0..<2000, using: &random)))
        case 1:
            let depth = Int.random(in: 1..<3000, using: &random)
            return (
                .post, "/subscribe", "application/json", Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
            )
        case 2:
            let escaped = injection.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\u{0}", with: "\\u0000")
            let field = pick(["email", "name", "list", "locale", "website"], &random)
            return (.post, "/subscribe", "application/json", Array(#"{"email":"fuzz@example.se","\#(field)":"\#(escaped)"}"#.utf8))
        case 3:
            let body = "email=" + percentEncoded(Array(injection.utf8)) + "&name=" + percentEncoded(garbage(&random, length: 40))
            return (.post, "/subscribe", "application/x-www-form-urlencoded", Array(body.utf8))
        case 4:
            return (
                .post, "/subscribe", "application/x-www-form-urlencoded",
                Array("email=%G0%%&&&=&name=\(String(repeating: "%", count: Int.random(in: 1..<50, using: &random)))".utf8)
            )
        case 5:
            let route = pick(
                ["/confirm/", "/unsubscribe/", "/privacy/", "/privacy/x/", "/confirm/a.b/", "/manage/", "/address/", "/terms/"],
                &random
            )
            let method: HTTPRequest.Method = Bool.random(using: &random) ? .get : .post
            return (
                method, route + percentEncoded(garbage(&random, length: Int.random(in: 0..<300, using: &random))),
                "application/x-www-form-urlencoded", Array("accept_terms=yes".utf8)
            )
        case 6:
            let method = pick(["PUT", "DELETE", "PATCH", "OPTIONS"], &random)
            let path = pick(["/subscribe", "/confirm/x", "/unsubscribe/x", "/privacy", "/healthz", "/", "/manage/x"], &random)
            return (HTTPRequest.Method(method)!, path, "application/json", Array("{}".utf8))
        case 7:
            return (.get, "/" + percentEncoded(garbage(&random, length: Int.random(in: 1..<200, using: &random))), nil, [])
        case 8:
            return (.post, "/privacy/request", pick(types, &random), Array(("email=" + percentEncoded(Array(injection.utf8))).utf8))
        default:
            let big = String(repeating: "x", count: Int.random(in: 10_000..<40_000, using: &random))
            return (.post, "/subscribe", "application/json", Array(#"{"email":"big@example.se","name":"\#(big)"}"#.utf8))
        }
    }

    @Test("thousands of generated hostile requests: never a 5xx, the store intact, nothing stored that should not be")
    func hostileRequests() async throws {
        let app = try await TestApp()
        try await app.addList()
        let statuses = try await app.application.test(.live) { client in
            var random = SplitMix64(state: 20_261_122)
            var statuses: [Int: Int] = [:]
            for _ in 0..<2_500 {
                let (method, path, type, body) = Self.request(&random)
                var headers: HTTPFields = [:]
                if let type { headers[.contentType] = type }
                let response = try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: body))
                statuses[Int(response.status.code), default: 0] += 1
                #expect(response.status.code < 500, "\(method) \(path.prefix(80)) \(type ?? "-") -> \(response.status.code)")
            }
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            return statuses
        }
        #expect(statuses.keys.contains(422) && statuses.keys.contains(400) && statuses.keys.contains(415), "\(statuses)")
        #expect(statuses.keys.contains(413) && statuses.keys.contains(404), "\(statuses)")
        let (check, addresses, active) = try await app.store.writer.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try String.fetchAll(db, sql: "SELECT address FROM subscriber"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM subscription WHERE status = 'active'")
            )
        }
        #expect(check == "ok")
        #expect(active == 0)
        // Every stored address is one the validator accepts as it is.
        for address in addresses {
            #expect((try? EmailAddress(address))?.value == address, "stored: \(address)")
        }
        #expect(try await app.count("SELECT count(*) FROM subscription WHERE name LIKE '%' || char(10) || '%' OR length(name) > 200") == 0)
    }
}
