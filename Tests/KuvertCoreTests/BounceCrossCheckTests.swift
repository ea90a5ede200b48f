import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Kuvert's verdicts against an independent parser's (PyPI flufl.bounce, as GNU Mailman uses)")
struct BounceCrossCheckTests {
    @Test("every fixture: a permanent failure to flufl.bounce counts or bounces here, a temporary one is transient, none changes nothing")
    func fluflAgrees() throws {
        let python = TestPaths.root.appendingPathComponent(".build/pyenv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "run 'make pyenv' first (make test does)")
        let directory = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces").path
        let result = try TestProcess.run([python, TestPaths.root.appendingPathComponent("Tests/Support/flufl_verdicts.py").path, directory])
        try #require(result.status == 0, "\(result.stderr)")
        let verdicts = try JSONDecoder().decode([String: [String: [String]]].self, from: Data(result.stdout.utf8))
        #expect(verdicts.count >= 9)
        for (file, verdict) in verdicts {
            let kind = BouncePolicy.kind(of: BounceReport(message: try TestPaths.bounceFixture(file)))
            let permanent = !(verdict["permanent"] ?? []).isEmpty
            let temporary = !(verdict["temporary"] ?? []).isEmpty
            if file == "postfix-expired.eml" {
                // The one deliberate difference: flufl.bounce goes by "Action: failed";
                // Kuvert by the status, 4.4.1, as DESIGN.md says (an expiry is no mailbox's fault).
                #expect(permanent && kind == .transient)
            } else if permanent {
                #expect([BounceKind.hard, .soft].contains(kind), "\(file): \(kind)")
            } else if temporary {
                #expect(kind == .transient, "\(file): \(kind)")
            } else {
                #expect(
                    BouncePolicy.effect(of: kind) != .bouncesNow && BouncePolicy.effect(of: kind) != .countsTowardsBounce,
                    "\(file): \(kind)"
                )
            }
        }
    }
}
