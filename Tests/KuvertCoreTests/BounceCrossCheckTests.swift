import Crypto
import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Kuvert's verdicts against an independent parser's (PyPI flufl.bounce, as GNU Mailman uses)")
struct BounceCrossCheckTests {
    @Test("every fixture: a permanent failure to flufl.bounce counts or bounces here, a temporary one is transient, none changes nothing")
    func fluflAgrees() async throws {
        let python = TestPaths.root.appendingPathComponent(".build/pyenv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "run 'make pyenv' first (make test does)")
        let directory = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces").path
        // On a thread of its own: the script takes seconds, and a cooperative thread
        // it held would starve the servers other tests run (an LMTP greeting waited
        // past its client's 10 s while both threads waited for the two cross-checks).
        let result = try await onThread {
            try TestProcess.run([python, TestPaths.root.appendingPathComponent("Tests/Support/flufl_verdicts.py").path, directory])
        }
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
/// bounce classifier, on real bounces nobody on the project wrote: Sisimai's
/// own corpus, GNU Mailman's (flufl.bounce) and Perl's BounceParser's, each
/// in `Tests/Fixtures/bounces/` with its origin and licence.
///
/// Two verdicts agree when they do the same to the subscription: bounce it
/// now, count towards bouncing, unsubscribe, or change nothing. Kuvert's kinds
/// and Sisimai's reasons are both finer than that, and differently cut (a
/// refused sender is Sisimai's `rejected`, Kuvert's `policy`; both change nothing).
@Suite("Kuvert's verdicts against Sisimai's, on real bounces nobody on the project wrote")
struct SisimaiCrossCheckTests {
    typealias Effect = BouncePolicy.Effect

    /// The corpora, under `Tests/Fixtures/bounces/`, and how many messages each holds at least.
    static let corpora = [("set-of-emails", 600), ("flufl-bounce", 100), ("bounceparser", 120)]

    /// What each of Sisimai's reasons may do to a subscription. Where a reason
    /// spans two of Kuvert's (a full mailbox is permanent or not by its code;
    /// Sisimai's `filtered` is a recipient's filter or a refusal after DATA),
    /// both agree.
    static func agreeing(_ verdict: SisimaiVerdict) -> Set<Effect> {
        switch verdict.reason {
        case "userunknown", "hostunknown": [.bouncesNow]
        // Sisimai's own rule (`Sisimai::SMTP::Error->soft_or_hard`): a `notaccept` with a 4xx is soft.
        case "notaccept" where verdict.status.first == "4": [.countsTowardsBounce, .none]
        case "suspend", "hasmoved", "notaccept": [.bouncesNow, .countsTowardsBounce]
        case "feedback": ["abuse", "fraud", "opt-out", ""].contains(verdict.feedbacktype) ? [.unsubscribes] : [.none]
        case "mailboxfull", "exceedlimit", "mesgtoobig", "filtered", "syntaxerror", "systemerror", "mailererror", "undefined", "onhold":
            [.countsTowardsBounce, .none]
        // Refusals of the sender, the content or the connection, delays and expiries, replies, deliveries.
        default: [.none]
        }
    }

    /// Why a disagreement about a hard bounce or a complaint stands, when one
    /// of these examined reasons holds; nil otherwise.
    static func examined(kuvert: BounceReport, sisimai: [SisimaiVerdict]) -> String? {
        let kind = BouncePolicy.kind(of: kuvert)
        guard case .deliveryStatus(let status, _, let diagnostic) = kuvert else { return nil }
        let words = diagnostic.flatMap(BounceText.phrase(in:))
        if kind == .hard, words?.kind == .hard || ["5.1.1", "5.1.10", "5.1.2"].contains(status),
            sisimai.allSatisfy({ ["filtered", "rejected", "mailererror", "mailboxfull", "networkerror"].contains($0.reason) })
        {
            // Sisimai 4.25 names "user unknown" `filtered` wherever it does not know the SMTP
            // command was RCPT TO (and names the same words `userunknown` from other systems).
            return "the server's own words or its 5.1.1 say the mailbox does not exist"
        }
        if kind == .policy, let words, ["after end of data", "after mail from", "after initial connection"].contains(words.words) {
            return "the server refused after the message's data, the sender or the connection, as it says: no mailbox was refused"
        }
        if kind == .policy, let words, ["blacklist", "blocklist", "spam"].contains(words.words) {
            return "the server names a block list: it refused the sender, whatever else its words allow"
        }
        if kind == .transient, status.first == "4", sisimai.allSatisfy({ $0.status.first == "4" }) {
            return "a 4xx is temporary by its code (Postfix's soft_bounce makes a 550 a 450): it changes nothing"
        }
        if kind == .soft, status.hasPrefix("5.2."), words?.kind == .hard {
            return "a 5.2.x says the mailbox exists and takes no mail; its \"user unknown\", not given at RCPT TO, counts"
        }
        if kind == .soft, words == nil, ["5.0.0", "5.5.0"].contains(status) {
            return "the reply gives no cause (\"Rejected\"): a permanent failure that counts, not a mailbox known to be gone"
        }
        return nil
    }

    /// What one corpus came to.
    struct Tally {
        var agreed = 0
        var compared = 0
        var unread: [String] = []
        /// Messages byte for byte the same as one counted already.
        var duplicates = 0
        var critical: [String] = []
        var lines: [String] = []
    }

    /// Every message of `corpus` through Kuvert and Sisimai; a message whose
    /// bytes were met before (Sisimai's corpus holds some under two names) is
    /// counted once, by its SHA-256 in `seen`.
    static func tally(_ corpus: String, atLeast expected: Int, seen: inout Set<String>) async throws -> Tally {
        let directory = TestPaths.root.appendingPathComponent("Tests/Fixtures/bounces/\(corpus)").path
        // On a thread of its own, as fluflAgrees runs its script.
        let result = try await onThread {
            try TestProcess.run([
                "/usr/bin/perl", TestPaths.root.appendingPathComponent("Tests/Support/sisimai_verdicts.pl").path, directory,
            ])
        }
        try #require(result.status == 0, "\(result.stderr)")
        let verdicts = try JSONDecoder().decode([String: [SisimaiVerdict]].self, from: Data(result.stdout.utf8))
        #expect(verdicts.count >= expected, "\(corpus): \(verdicts.count) messages")
        var tally = Tally()
        for (file, found) in verdicts.sorted(by: { $0.key < $1.key }) {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + file))
            guard seen.insert(SHA256.hash(data: bytes).lowercaseHex).inserted else {
                tally.duplicates += 1
                continue
            }
            let report = BounceReport(message: [UInt8](bytes))
            let kind = BouncePolicy.kind(of: report)
            let effect = BouncePolicy.effect(of: kind)
            // Sisimai read nothing (4.25 has no module for DragonFly Mail Agent, for one): nothing to compare with.
            guard !found.isEmpty else {
                tally.unread.append("\(corpus)/\(file): kuvert \(kind.rawValue)")
                continue
            }
            tally.compared += 1
            let accepted = found.reduce(into: Set<Effect>()) { $0.formUnion(Self.agreeing($1)) }
            if accepted.contains(effect) {
                tally.agreed += 1
                continue
            }
            let summary = found.map { "\($0.reason) \($0.status)" }.joined(separator: ", ")
            let reason = Self.examined(kuvert: report, sisimai: found)
            tally.lines.append("\(corpus)/\(file): kuvert \(kind.rawValue), sisimai \(summary)" + (reason.map { " (examined: \($0))" } ?? ""))
            let aboutHardOrComplaint = [effect, accepted.count == 1 ? accepted.first! : .none].contains { $0 == .bouncesNow || $0 == .unsubscribes }
            if aboutHardOrComplaint && reason == nil { tally.critical.append("\(corpus)/\(file): kuvert \(kind.rawValue), sisimai \(summary)") }
        }
        return tally
    }

    @Test(
        "every real bounce of three corpora through both: the agreement is printed, at least 95 %, no unexamined disagreement about a hard bounce or a complaint"
    )
    func sisimaiAgrees() async throws {
        var total = Tally()
        var seen: Set<String> = []
        for (corpus, expected) in Self.corpora {
            let tally = try await Self.tally(corpus, atLeast: expected, seen: &seen)
            print(
                "Sisimai agreement on \(corpus): \(tally.agreed) of \(tally.compared) (\(Self.percent(tally)) %); \(tally.duplicates) duplicates not counted"
            )
            total.duplicates += tally.duplicates
            total.agreed += tally.agreed
            total.compared += tally.compared
            total.unread += tally.unread
            total.critical += tally.critical
            total.lines += tally.lines
        }
        let share = Double(total.agreed) / Double(max(total.compared, 1))
        print(
            "Sisimai agreement: \(total.agreed) of \(total.compared) (\(Self.percent(total)) %); Sisimai read nothing in \(total.unread.count) more; \(total.duplicates) duplicates not counted"
        )
        for line in total.lines { print("  disagree: \(line)") }
        for line in total.unread { print("  sisimai read nothing: \(line)") }
        print("  unexamined disagreements about a hard bounce or a complaint: \(total.critical.count)")
        #expect(share >= 0.95, "agreement \(share) below 0.95")
        #expect(
            total.critical.isEmpty,
            "disagreements about a hard bounce or a complaint nobody examined:\n\(total.critical.joined(separator: "\n"))"
        )
    }

    static func percent(_ tally: Tally) -> String {
        String(format: "%.1f", Double(tally.agreed) / Double(max(tally.compared, 1)) * 100)
    }
}

struct SisimaiVerdict: Decodable {
    var reason: String
    var status: String
    var feedbacktype: String
    var recipient: String
}
