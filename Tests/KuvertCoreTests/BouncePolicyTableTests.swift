import Foundation
import GRDB
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("The README's bounce policy table says what the code does")
struct BouncePolicyTableTests {
    @Test("each row's status codes have the row's kind, and the kind the row's effect")
    func readmeTable() throws {
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "### Bounces and complaints").dropFirst().first)
        let rows = section.components(separatedBy: "\n### ")[0].split(separator: "\n").filter { $0.hasPrefix("| ") }
        var kinds: Set<BounceKind> = []
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, let kind = BounceKind(rawValue: cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
            else { continue }
            kinds.insert(kind)
            // Every status code the row names, with x read as any digit.
            let codes = cells[0].split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                .filter { $0.split(separator: ".").count == 3 && ["4", "5"].contains($0.first) }
            for code in codes {
                let status = code.replacingOccurrences(of: "x", with: "9")
                let diagnostic = status == "5.4.4" ? "Host or domain name not found. Name service error" : nil
                #expect(BouncePolicy.kind(status: status, diagnostic: diagnostic) == kind, "\(code) in: \(row)")
            }
            let effect = cells[2]
            let expected: BouncePolicy.Effect =
                effect.contains("at once") && effect.contains("bounced")
                ? .bouncesNow
                : effect.hasPrefix("counts")
                    ? .countsTowardsBounce
                    : effect.hasPrefix("unsubscribed") ? .unsubscribes : .none
            #expect(BouncePolicy.effect(of: kind) == expected, "\(row)")
        }
        #expect(kinds == Set(BounceKind.allCases), "every kind has a row")
    }
}
