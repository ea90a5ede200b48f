import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("RFC 3339 times, read strictly")
struct InternetTimeTests {
    @Test("valid times with offsets and fractions read as the instant they name")
    func valid() throws {
        let reference = try #require(InternetTime.parse("2026-12-01T08:00:00Z"))
        #expect(reference.timeIntervalSince1970 == 1_796_112_000)
        #expect(InternetTime.parse("2026-12-01T09:30:00+01:30") == reference)
        #expect(InternetTime.parse("2026-12-01t07:00:00-01:00") == reference)
        #expect(InternetTime.parse("2026-12-01T08:00:00.250Z") == reference.addingTimeInterval(0.25))
        #expect(InternetTime.parse("2028-02-29T00:00:00Z") != nil)
        #expect(InternetTime.parse("0143-09-09T23:16:13-00:23") != nil)
    }

    @Test("out-of-range fields and other shapes are refused, not rolled over")
    func invalid() {
        for text in [
            "2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-12-00T00:00:00Z", "2026-12-01T08:00:00", "2026-12-01 08:00:00Z", "2026-12-01T08:00Z",
            "2026-12-01T08:00:00+1:00", "2026-12-01T08:00:00+24:00", "", "tomorrow", "2026-12-01T08:00:00Z ",
        ] {
            #expect(InternetTime.parse(text) == nil, "\(text)")
        }
    }
}
