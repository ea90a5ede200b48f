import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The in-memory rate limiter")
struct RateLimiterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("N requests per window pass, the next waits until the window ends, then it starts again")
    func limit() {
        let limiter = RateLimiter(.init(count: 2, window: 60))
        #expect(limiter.check("a", now: start) == nil)
        #expect(limiter.check("a", now: start.addingTimeInterval(1)) == nil)
        #expect(limiter.check("a", now: start.addingTimeInterval(10)) == 50)
        #expect(limiter.check("b", now: start.addingTimeInterval(10)) == nil)
        #expect(limiter.check("a", now: start.addingTimeInterval(60)) == nil)
    }

    @Test("a flood of new keys keeps memory bounded, drops the oldest first, and keeps counting the recent ones")
    func flood() {
        let limiter = RateLimiter(.init(count: 1, window: 3_600), capacity: 1_000)
        #expect(limiter.check("victim", now: start) == nil)
        #expect(limiter.check("victim", now: start) != nil)
        for index in 0..<300_000 {
            _ = limiter.check("flood-\(index)", now: start.addingTimeInterval(1))
        }
        #expect(limiter.trackedKeys == 1_000)
        // The newest keys are still counted...
        #expect(limiter.check("flood-299999", now: start.addingTimeInterval(2)) != nil)
        // ...and the oldest was forgotten (the resend window, not this limit, protects its inbox).
        #expect(limiter.check("victim", now: start.addingTimeInterval(2)) == nil)
    }

    @Test("windows that ended are dropped as time passes")
    func expiry() {
        let limiter = RateLimiter(.init(count: 5, window: 60))
        for index in 0..<500 { _ = limiter.check("k\(index)", now: start) }
        #expect(limiter.trackedKeys == 500)
        _ = limiter.check("later", now: start.addingTimeInterval(61))
        #expect(limiter.trackedKeys == 1)
    }
}
