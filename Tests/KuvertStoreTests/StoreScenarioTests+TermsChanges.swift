import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore

// Terms that change, told or asked again, on both stores.
extension StoreScenarioTests {
    static let newTerms = "# Terms\n\nBe nice, and we now also count opens."

    /// Ann, Bo and Cy active on `news`, Dan active but restricted, Eve pending.
    private func people(_ subject: StoreUnderTest, now: Date) async throws -> [String: Int64] {
        let store = subject.store
        try await subject.addList()
        var ids: [String: Int64] = [:]
        for name in ["ann", "bo", "cy", "dan"] { ids[name] = try await store.activate("\(name)@example.se", now: now) }
        let asked = try await store.request("eve@example.se", now: now)
        guard case .confirmationQueued(let eve) = asked else {
            Issue.record("no confirmation queued: \(asked)")
            throw KuvertError.unknownSubscriber
        }
        ids["eve"] = eve
        let dan = try #require(try await store.subscriber(address: try EmailAddress("dan@example.se"))?.id)
        _ = try await store.restrict(subscriberId: dan, .restricted(reason: nil), actor: "cli", now: now)
        // The confirmations and welcome receipts are not what these tests are about.
        try await subject.execute("UPDATE outboxMessage SET status = 'sent', sentAt = createdAt WHERE status = 'queued'")
        return ids
    }

    @Test(
        "a notice mails every active subscriber but the restricted, records notified, changes nobody, and refuses a second change until its mail left",
        arguments: StoreKind.allCases
    )
    func termsNotice(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let now = Date()
            _ = try await people(subject, now: now)
            let progress = try await store.changeTerms(
                listSlug: "news",
                body: Self.newTerms,
                translations: [:],
                TermsChangeRequest(kind: .notice, summary: "We count opens now."),
                actor: "cli",
                now: now,
                batchSize: 2
            )
            #expect(progress.change.kind == .notice && progress.change.version == 2 && progress.change.previousVersion == 1)
            #expect(progress.change.deadline == nil && progress.change.queuedAt != nil && progress.waiting == 3)
            #expect(try await subject.texts("SELECT kind FROM outboxMessage WHERE termsChangeId IS NOT NULL") == ["notice", "notice", "notice"])
            #expect(
                try await subject.count(
                    "consentEvent",
                    where: "kind = 'notified' AND source = 'notice' AND termsVersionId = \(progress.change.termsVersionId)"
                ) == 3
            )
            #expect(try await subject.count("subscription", where: "status = 'active'") == 4)

            // Open: no other terms may be published, with or without mail.
            await #expect(throws: KuvertError.termsChangeOpen(progress.change.openLine(listSlug: "news"))) {
                _ = try await store.publishTerms(listSlug: "news", body: "# Terms\n\nv3", actor: "cli", now: now)
            }
            await #expect(throws: KuvertError.self) {
                _ = try await store.changeTerms(
                    listSlug: "news",
                    body: "# v3",
                    translations: [:],
                    TermsChangeRequest(kind: .reconsent),
                    actor: "cli",
                    now: now,
                    batchSize: 10
                )
            }

            // The mail carries its change; while it waits the notice stays open.
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }
            #expect(
                leased.count == 3
                    && leased.allSatisfy { $0.termsChange?.id == progress.change.id && $0.termsChange?.summary == "We count opens now." }
            )
            #expect(try await store.applyTermsDeadlines(now: now, batchSize: 10) == TermsDeadlineReport())
            for delivery in leased {
                let id = try #require(delivery.message.id)
                try await subject.delivery { try $0.recordDelivery(id, .sent(SendOutcome(code: 250, reply: "2.0.0 Ok")), bounceLimit: 2, now: now) }
            }
            #expect(try await store.applyTermsDeadlines(now: now, batchSize: 10) == TermsDeadlineReport(closed: 1))
            let closed = try #require(try await store.latestTermsChange(listSlug: "news", now: now))
            #expect(closed.change.closedAt != nil && closed.mailed == 3 && closed.waiting == 0)
            #expect(try await store.publishTerms(listSlug: "news", body: "# Terms\n\nv3", actor: "cli", now: now).version == 3)

            // A notice nobody is to get closes at once: the next change need not wait.
            try await subject.addList("quiet")
            let quiet = try await store.changeTerms(
                listSlug: "quiet",
                body: "# New",
                translations: [:],
                TermsChangeRequest(kind: .notice),
                actor: "cli",
                now: now,
                batchSize: 10
            )
            #expect(quiet.waiting == 0 && quiet.change.closedAt != nil)
            #expect(try await store.publishTerms(listSlug: "quiet", body: "# Newer", actor: "cli", now: now).version == 3)
        }
    }

    @Test(
        "a re-consent: acceptance once with proof, one reminder at half the deadline, the rest lapse at it (ledger, audit, webhook), the lapsed start afresh",
        arguments: StoreKind.allCases
    )
    func termsReconsent(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            // Whole seconds: both stores keep times exactly then.
            let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let ids = try await people(subject, now: start)
            try await store.setWebhooks(enabled: true)
            let opened = try await store.changeTerms(
                listSlug: "news",
                body: Self.newTerms,
                translations: [:],
                TermsChangeRequest(kind: .reconsent, deadline: 1_000),
                actor: "cli",
                now: start,
                batchSize: 2
            )
            let change = opened.change
            let changeId = try #require(change.id)
            #expect(opened.waiting == 3 && change.deadline == start.addingTimeInterval(1_000))
            #expect(
                try await subject.texts("SELECT kind FROM outboxMessage WHERE termsChangeId IS NOT NULL") == ["reconsent", "reconsent", "reconsent"]
            )
            #expect(try await store.nextTermsDeadline() == start.addingTimeInterval(500))
            #expect(try await store.applyTermsDeadlines(now: start.addingTimeInterval(100), batchSize: 2) == TermsDeadlineReport())

            // Ann accepts, in Swedish; twice is once.
            let origin = RequestOrigin(ip: "192.0.2.7", userAgent: "Firefox", source: "reconsent")
            let ann = try #require(ids["ann"])
            let opening = try #require(try await store.reconsent(subscriptionId: ann, changeId: changeId))
            #expect(!opening.accepted && opening.terms.terms.version == 2)
            let accepted = try await store.acceptReconsent(subscriptionId: ann, changeId: changeId, language: .sv, origin: origin, now: start)
            #expect(accepted.accepted)
            _ = try await store.acceptReconsent(subscriptionId: ann, changeId: changeId, language: .sv, origin: origin, now: start)
            #expect(
                try await subject.texts(
                    "SELECT source || ' ' || ip || ' ' || termsSHA256 FROM consentEvent WHERE subscriptionId = \(ann) AND termsVersionId = \(change.termsVersionId)"
                ) == ["reconsent 192.0.2.7 \(TermsVersion.digest(Self.newTerms))"]
            )
            // Eve was pending, so nobody asked her: her link names no subscription of the change.
            #expect(try await store.reconsent(subscriptionId: try #require(ids["eve"]), changeId: changeId)?.subscription.status == .pending)

            // Half way: one reminder each to Bo and Cy, however often the job runs.
            #expect(try await store.applyTermsDeadlines(now: start.addingTimeInterval(500), batchSize: 1) == TermsDeadlineReport(reminded: 2))
            #expect(try await store.applyTermsDeadlines(now: start.addingTimeInterval(501), batchSize: 1) == TermsDeadlineReport())
            #expect(try await subject.count("outboxMessage", where: "kind = 'reconsent-reminder'") == 2)
            #expect(try await store.nextTermsDeadline() == start.addingTimeInterval(1_000))

            // Bo accepts late; Cy never does. At the deadline Cy lapses, and nobody else.
            let bo = try #require(ids["bo"])
            _ = try await store.acceptReconsent(
                subscriptionId: bo,
                changeId: changeId,
                language: .en,
                origin: origin,
                now: start.addingTimeInterval(600)
            )
            #expect(
                try await store.applyTermsDeadlines(now: start.addingTimeInterval(1_000), batchSize: 1)
                    == TermsDeadlineReport(lapsed: 1, closed: 1)
            )
            let cy = try #require(ids["cy"])
            #expect(try await subject.texts("SELECT status FROM subscription WHERE id = \(cy)") == ["lapsed"])
            #expect(try await subject.count("subscription", where: "status = 'active'") == 3)
            #expect(
                try await subject.texts("SELECT source FROM consentEvent WHERE kind = 'lapsed' AND termsVersionId = \(change.termsVersionId)")
                    == ["reconsent"]
            )
            #expect(try await subject.count("auditEvent", where: "action = 'subscription.lapsed'") == 1)
            #expect(try await subject.texts("SELECT event FROM webhookEvent WHERE subscriptionId = \(cy) ORDER BY id").last == "subscription.lapsed")
            // What the request and reminders had not sent by then is not sent.
            #expect(try await subject.count("outboxMessage", where: "termsChangeId IS NOT NULL AND status = 'queued'") == 0)
            #expect(try await store.applyTermsDeadlines(now: start.addingTimeInterval(2_000), batchSize: 1) == TermsDeadlineReport())
            #expect(try await store.nextTermsDeadline() == nil)

            let progress = try #require(try await store.latestTermsChange(listSlug: "news", now: start))
            #expect(progress.accepted == 2 && progress.lapsed == 1 && progress.change.closedAt != nil)
            let summary = try #require(try await store.listSummaries().first)
            #expect(summary.counts[.lapsed] == 1 && summary.counts[.unsubscribed] == nil && summary.counts[.bounced] == nil)
            #expect(summary.accepted == [1: 1, 2: 2])

            // The link no longer works; asking anew starts a fresh consent on the version in force.
            await #expect(throws: ConfirmationService.LinkError.expired) {
                _ = try await store.acceptReconsent(subscriptionId: cy, changeId: changeId, language: .en, origin: origin, now: start)
            }
            // Retention counts a lapse as an end.
            let candidates = try await store.subscribersToErase(endedBefore: start.addingTimeInterval(1_001))
            #expect(candidates.count == 1)
            try await store.activate("cy@example.se", now: Date())
            #expect(try await subject.texts("SELECT status FROM subscription WHERE id = \(cy)") == ["active"])
            #expect(
                try await subject.count(
                    "consentEvent",
                    where: "subscriptionId = \(cy) AND kind = 'confirmed' AND termsVersionId = \(change.termsVersionId)"
                )
                    == 1
            )
        }
    }

    @Test(
        "a deadline that passed while every node was down lapses at the next start without a late reminder; interrupted queueing is finished",
        arguments: StoreKind.allCases
    )
    func termsDeadlineAcrossRestart(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            // Whole seconds: both stores keep times exactly then.
            let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            _ = try await people(subject, now: start)
            let opened = try await subject.store.changeTerms(
                listSlug: "news",
                body: Self.newTerms,
                translations: [:],
                TermsChangeRequest(kind: .reconsent, deadline: 60),
                actor: "cli",
                now: start,
                batchSize: 10
            )
            // A crash mid-way: one request queued, the change not marked queued.
            try await subject.execute(
                """
                DELETE FROM outboxMessage WHERE termsChangeId IS NOT NULL AND subscriptionId != (
                    SELECT min(subscriptionId) FROM outboxMessage WHERE termsChangeId IS NOT NULL);
                UPDATE termsChange SET queuedAt = NULL
                """
            )
            try await subject.anotherNode { (node: any KuvertStore) async throws in
                // Within the grace the opening command is taken to be queueing still.
                #expect(try await node.applyTermsDeadlines(now: start.addingTimeInterval(30), batchSize: 1) == TermsDeadlineReport())
                #expect(try await node.nextTermsDeadline() == start.addingTimeInterval(TermsChange.queueingGrace))
                let later = start.addingTimeInterval(TermsChange.queueingGrace)
                #expect(try await node.applyTermsDeadlines(now: later, batchSize: 1) == TermsDeadlineReport(queued: 2))
                #expect(try await subject.count("outboxMessage", where: "kind = 'reconsent'") == opened.waiting)
                // Past the deadline already: nobody is reminded of it, everyone unanswered lapses.
                #expect(try await node.applyTermsDeadlines(now: later, batchSize: 1) == TermsDeadlineReport(lapsed: 3, closed: 1))
                #expect(try await subject.count("outboxMessage", where: "kind = 'reconsent-reminder'") == 0)
            }
        }
    }

    @Test("two nodes running the deadline job at once remind each person once and lapse each once", arguments: [StoreKind.postgres])
    func termsDeadlineOnTwoNodes(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            // Whole seconds: both stores keep times exactly then.
            let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            try await subject.addList()
            for index in 0..<60 { try await store.activate("p\(index)@example.se", now: start) }
            let opened = try await store.changeTerms(
                listSlug: "news",
                body: Self.newTerms,
                translations: [:],
                TermsChangeRequest(kind: .reconsent, deadline: 100),
                actor: "cli",
                now: start,
                batchSize: 7
            )
            #expect(opened.waiting == 60)
            try await subject.anotherNode { (other: any KuvertStore) async throws in
                async let first = store.applyTermsDeadlines(now: start.addingTimeInterval(50), batchSize: 7)
                async let second = other.applyTermsDeadlines(now: start.addingTimeInterval(50), batchSize: 7)
                let reports = try await [first, second]
                #expect(reports.map(\.reminded).reduce(0, +) == 60)
                #expect(try await subject.count("outboxMessage", where: "kind = 'reconsent-reminder'") == 60)
                async let third = store.applyTermsDeadlines(now: start.addingTimeInterval(100), batchSize: 7)
                async let fourth = other.applyTermsDeadlines(now: start.addingTimeInterval(100), batchSize: 7)
                let ends = try await [third, fourth]
                #expect(ends.map(\.lapsed).reduce(0, +) == 60 && ends.map(\.closed).reduce(0, +) == 1)
                #expect(try await subject.count("consentEvent", where: "kind = 'lapsed'") == 60)
                #expect(try await subject.count("auditEvent", where: "action = 'subscription.lapsed'") == 60)
            }
        }
    }
}
