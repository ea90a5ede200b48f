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

/// Kuvert against Sisimai (Debian's `libsisimai-perl`), the most complete
/// bounce classifier, on the real bounces of `Tests/Fixtures/bounces/set-of-emails`.
@Suite("Kuvert's verdicts against Sisimai's, on real bounces nobody on the project wrote")
struct SisimaiCrossCheckTests {
    /// Sisimai's reasons, and the kinds of Kuvert's that agree with each. Its
    /// reasons are finer than Kuvert's policy needs; where one spans two of
    /// Kuvert's kinds (a full mailbox is permanent or not by its code), both agree.
    static func agreeing(_ verdict: SisimaiVerdict) -> Set<BounceKind> {
        switch verdict.reason {
        case "userunknown", "hostunknown": [.hard]
        case "feedback": ["abuse", "fraud", "opt-out", ""].contains(verdict.feedbacktype) ? [.complaint] : [.ignored]
        case "vacation": [.autoReply, .ignored]
        case "delivered": [.ignored]
        case "mailboxfull", "exceedlimit", "mesgtoobig": [.soft, .transient]
        case "expired", "toomanyconn", "networkerror", "systemfull", "speeding", "ratelimited": [.transient]
        case "blocked", "spamdetected", "policyviolation", "securityerror", "virusdetected", "contenterror", "norelaying",
            "requireptr", "badreputation", "authfailure", "rejected", "notcompliantrfc":
            [.policy]
        case "filtered", "syntaxerror": [.policy, .soft]
        case "suspend", "hasmoved", "notaccept": [.hard, .soft]
        // What Sisimai could not place itself.
        default: [.soft, .transient, .policy, .ignored]
        }
    }

    /// Files where Kuvert and Sisimai disagree about a hard bounce or a
    /// complaint, each examined, with why Kuvert's verdict stands.
    static let examined: [String: String] = [:]

    @Test(
        "every real bounce through both: the agreement is printed; it stays at its floor; no unexamined disagreement about a hard bounce or a complaint"
    )
    func sisimaiAgrees() throws {
        let directory = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces/set-of-emails").path
        let result = try TestProcess.run([
            "/usr/bin/perl", TestPaths.root.appendingPathComponent("Tests/Support/sisimai_verdicts.pl").path, directory,
        ])
        try #require(result.status == 0, "\(result.stderr)")
        let verdicts = try JSONDecoder().decode([String: [SisimaiVerdict]].self, from: Data(result.stdout.utf8))
        #expect(verdicts.count >= 600)
        var agreed = 0
        var compared = 0
        var critical: [String] = []
        var lines: [String] = []
        for (file, found) in verdicts.sorted(by: { $0.key < $1.key }) {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + file))
            let kind = BouncePolicy.kind(of: BounceReport(message: [UInt8](bytes)))
            // Sisimai found nothing to report: Kuvert should find nothing to act on either.
            let verdicts = found.isEmpty ? [SisimaiVerdict(reason: "none", status: "", feedbacktype: "", recipient: "")] : found
            let accepted =
                found.isEmpty ? Set([BounceKind.ignored, .autoReply]) : verdicts.reduce(into: Set<BounceKind>()) { $0.formUnion(Self.agreeing($1)) }
            compared += 1
            if accepted.contains(kind) {
                agreed += 1
                continue
            }
            let summary = verdicts.map { "\($0.reason) \($0.status)" }.joined(separator: ", ")
            lines.append("\(file): kuvert \(kind.rawValue), sisimai \(summary)")
            let sisimaiCritical = verdicts.contains { ["userunknown", "hostunknown"].contains($0.reason) || Self.agreeing($0) == [.complaint] }
            if (sisimaiCritical || kind == .hard || kind == .complaint) && Self.examined[file] == nil {
                critical.append("\(file): kuvert \(kind.rawValue), sisimai \(summary)")
            }
        }
        let share = Double(agreed) / Double(max(compared, 1))
        print("Sisimai agreement: \(agreed) of \(compared) (\(String(format: "%.1f", share * 100)) %)")
        for line in lines { print("  disagree: \(line)") }
        print("  unexamined disagreements about a hard bounce or a complaint: \(critical.count)")
        #expect(share >= Self.floor, "agreement \(share) below \(Self.floor)")
        #expect(
            critical.count <= Self.unexaminedCeiling,
            "more unexamined disagreements about a hard bounce or a complaint than before:\n\(critical.joined(separator: "\n"))"
        )
    }

    /// Where issue 35 stands: the agreement it has reached, and the
    /// disagreements about a hard bounce or a complaint still to examine. Each
    /// step raises the one and lowers the other; the issue's goal is 0.95 and
    /// none unexamined. Measured, not chosen: 42.6 % before its first step.
    static let floor = 0.65
    static let unexaminedCeiling = 102
}

struct SisimaiVerdict: Decodable {
    var reason: String
    var status: String
    var feedbacktype: String
    var recipient: String
}
