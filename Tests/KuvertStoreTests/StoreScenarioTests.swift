import Crypto
import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

/// Every store protocol, the same scenarios on both stores: what one store
/// does, the other must do too.
@Suite("Store scenarios on SQLite and PostgreSQL", .postgresCluster)
struct StoreScenarioTests {
    static let holder = LeaseHolder(host: "node-a", boot: "boot-a", pid: 41, started: 1)
    static let other = LeaseHolder(host: "node-b", boot: "boot-b", pid: 42, started: 2)

    @Test("terms in several languages: each person is shown and consents to the text in their language, its own hash", arguments: StoreKind.allCases)
    func translatedTerms(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            let now = Date()
            _ = try await store.createList(
                MailingList(slug: "news", name: "News", language: .en, createdAt: now),
                terms: "# Terms\n\nBe nice.",
                translations: [.sv: "# Villkor\n\nVar snäll."],
                actor: "test"
            )
            var swedish = try SubscriptionRequest.form("asa@example.se")
            swedish.language = .sv
            guard case .confirmationQueued(let svId) = try await store.subscribe(swedish, resendWindow: 0, now: now),
                case .confirmationQueued(let enId) = try await store.subscribe(
                    try SubscriptionRequest.form("anna@example.se"),
                    resendWindow: 0,
                    now: now
                )
            else {
                Issue.record("not queued")
                return
            }
            let sv = try #require(try await store.confirmationContext(subscriptionId: svId))
            #expect(sv.terms.body == "# Villkor\n\nVar snäll." && sv.terms.sha256 == TermsVersion.digest("# Villkor\n\nVar snäll."))
            #expect(sv.termsLanguage == .sv && sv.terms.version == 1)
            let en = try #require(try await store.confirmationContext(subscriptionId: enId))
            #expect(en.terms.body == "# Terms\n\nBe nice." && en.termsLanguage == .en)
            _ = try await store.confirm(
                TermsAcceptance(
                    subscriptionId: svId,
                    nonce: sv.subscription.confirmNonce,
                    termsVersion: 1,
                    origin: RequestOrigin(ip: nil, userAgent: nil, source: "confirm-page"),
                    confirmWindow: 86_400
                ),
                now: now
            )
            #expect(
                try await subject.texts("SELECT termsSHA256 FROM consentEvent WHERE kind = 'confirmed'")
                    == [TermsVersion.digest("# Villkor\n\nVar snäll.")]
            )
            // The same texts again publish nothing; a changed translation is a new version.
            await #expect(throws: KuvertError.termsUnchanged(list: "news", version: 1)) {
                try await store.publishTerms(
                    listSlug: "news",
                    body: "# Terms\n\nBe nice.",
                    translations: [.sv: "# Villkor\n\nVar snäll."],
                    actor: "cli",
                    now: now
                )
            }
            #expect(
                try await store.publishTerms(
                    listSlug: "news",
                    body: "# Terms\n\nBe nice.",
                    translations: [.sv: "# Villkor\n\nVar vänlig."],
                    actor: "cli",
                    now: now
                ).version == 2
            )
            #expect(try await store.confirmationContext(subscriptionId: enId)?.terms.version == 2)
            // Texts are kept as versions are.
            #expect(try await subject.count("termsTranslation") == 2)
            await #expect(throws: (any Error).self) { try await subject.execute("UPDATE termsTranslation SET body = 'x'") }
        }
    }

    @Test(
        "editors: a draft edited and deleted with its test copy, a queued one refused; a list edited; the same terms refused",
        arguments: StoreKind.allCases
    )
    func editors(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            let draft = try await store.createCampaign(
                try Campaign.draft(subject: "Nummer 1", markdown: "Första", now: now),
                listSlug: "news",
                actor: "cli"
            )
            let id = try #require(draft.id)
            let edited = try await store.editDraft(
                id: id,
                subject: "Nummer 1 (rättad)",
                body: CampaignBody(markdown: "Andra *utkastet*"),
                now: now,
                actor: "cli"
            )
            #expect(edited.subject == "Nummer 1 (rättad)" && edited.bodyHTML.contains("<em>utkastet</em>"))
            #expect(try await subject.texts("SELECT subject FROM campaign") == ["Nummer 1 (rättad)"])
            #expect(try await store.campaign(id: id)?.campaign.bodyMarkdown == "Andra *utkastet*")
            _ = try await store.queueTestMessage(campaignId: id, to: try EmailAddress("redaktor@example.se"), now: now)
            try await store.deleteDraft(id: id, now: now, actor: "cli")
            #expect(try await subject.count("campaign") == 0)
            #expect(try await subject.count("outboxMessage") == 0)
            await #expect(throws: KuvertError.unknownCampaign(id)) { try await store.deleteDraft(id: id, now: now, actor: "cli") }

            let sent = try await store.createCampaign(
                try Campaign.draft(subject: "Nummer 2", markdown: "Text", now: now),
                listSlug: "news",
                actor: "cli"
            )
            _ = try await store.queueCampaign(id: try #require(sent.id), sendAt: now, now: now, batchSize: 10, actor: "cli")
            await #expect(throws: KuvertError.self) {
                try await store.editDraft(id: try #require(sent.id), subject: "Ändrad", body: nil, now: now, actor: "cli")
            }
            await #expect(throws: KuvertError.self) { try await store.deleteDraft(id: try #require(sent.id), now: now, actor: "cli") }
            #expect(try await subject.texts("SELECT subject FROM campaign") == ["Nummer 2"])

            let list = try await store.editList(
                slug: "news",
                ListEdit(name: "Nyheter", thanksURL: "https://example.se/tack", language: .sv),
                actor: "cli",
                now: now
            )
            #expect(list.name == "Nyheter" && list.language == .sv && list.thanksURL == "https://example.se/tack")
            #expect(try await store.mailingList(slug: "news") == list)
            _ = try await store.editList(slug: "news", ListEdit(thanksURL: ""), actor: "cli", now: now)
            #expect(try await store.mailingList(slug: "news").thanksURL == nil)
            await #expect(throws: KuvertError.unknownList("nope")) {
                try await store.editList(slug: "nope", ListEdit(name: "X"), actor: "cli", now: now)
            }

            // addList's terms, word for word.
            await #expect(throws: KuvertError.termsUnchanged(list: "news", version: 1)) {
                try await store.publishTerms(listSlug: "news", body: "# Terms\n\nBe nice.", actor: "cli", now: now)
            }
            #expect(try await store.publishTerms(listSlug: "news", body: "Nya villkor", actor: "cli", now: now).version == 2)
            #expect(
                try await subject.texts("SELECT action FROM auditEvent WHERE action LIKE 'campaign.%' OR action LIKE 'list.%' ORDER BY id") == [
                    "list.created", "campaign.created", "campaign.edited", "campaign.deleted", "campaign.created", "campaign.queued",
                    "list.edited", "list.edited",
                ]
            )
        }
    }

    @Test("intake: a new address, repeats within and after the window, an active one, a renewal, unknown lists", arguments: StoreKind.allCases)
    func intake(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            let request = try SubscriptionRequest.form("Anna@Example.se", name: "Anna")
            guard case .confirmationQueued(let id) = try await store.subscribe(request, resendWindow: 600, now: now) else {
                Issue.record("no confirmation queued")
                return
            }
            #expect(try await subject.texts("SELECT address || ' ' || addressKey FROM subscriber") == ["Anna@example.se anna@example.se"])
            #expect(try await subject.texts("SELECT status || ' ' || name || ' ' || language FROM subscription") == ["pending Anna en"])
            #expect(
                try await subject.texts("SELECT kind || ' ' || ip || ' ' || userAgent || ' ' || source FROM consentEvent")
                    == ["requested 192.0.2.7 TestAgent/1.0 form"]
            )
            #expect(try await subject.texts("SELECT kind || ' ' || status FROM outboxMessage") == ["confirmation queued"])

            // Again within the window: nothing new. After it: one more mail, the same nonce.
            #expect(try await store.subscribe(request, resendWindow: 600, now: now.addingTimeInterval(60)) == .alreadyPending)
            let nonce = try await subject.texts("SELECT confirmNonce FROM subscription")
            #expect(
                try await store.subscribe(request, resendWindow: 600, now: now.addingTimeInterval(601))
                    == .confirmationQueued(subscriptionId: id)
            )
            #expect(try await subject.count("outboxMessage") == 2)
            #expect(try await subject.texts("SELECT confirmNonce FROM subscription") == nonce)

            // Active: nothing changes, whatever the request says.
            try await subject.execute("UPDATE subscription SET status = 'active', confirmedAt = requestedAt")
            var hostile = try SubscriptionRequest.form("ANNA@example.se", name: "Mallory")
            hostile.language = .sv
            #expect(try await store.subscribe(hostile, resendWindow: 600, now: now.addingTimeInterval(700)) == .alreadyActive)
            #expect(try await subject.texts("SELECT name || ' ' || language FROM subscription") == ["Anna en"])

            // Ended: a new double opt-in with a new nonce.
            try await subject.execute("UPDATE subscription SET status = 'unsubscribed', endedAt = requestedAt")
            #expect(
                try await store.subscribe(request, resendWindow: 600, now: now.addingTimeInterval(800))
                    == .confirmationQueued(subscriptionId: id)
            )
            #expect(try await subject.texts("SELECT status FROM subscription") == ["pending"])
            #expect(try await subject.texts("SELECT confirmNonce FROM subscription") != nonce)

            await #expect(throws: KuvertError.unknownList("nope")) {
                try await store.request("bo@example.se", list: "nope", resendWindow: 600, now: now)
            }
            #expect(try await subject.count("subscriber") == 1)
            #expect(
                try await subject.texts("SELECT action FROM auditEvent ORDER BY id") == [
                    "list.created", "subscription.requested", "subscription.repeated", "subscription.requested",
                    "subscription.repeated", "subscription.requested",
                ]
            )
        }
    }

    @Test("50 requests at once for one address: one subscriber, one subscription, one mail", arguments: StoreKind.allCases)
    func concurrentIntake(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            try await subject.addList()
            let store = subject.store
            let now = Date()
            let outcomes = try await withThrowingTaskGroup(of: IntakeOutcome.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.subscribe(
                            try SubscriptionRequest.form(index % 2 == 0 ? "bo@example.se" : "BO@example.se"),
                            resendWindow: 600,
                            now: now
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .confirmationQueued = $0 { true } else { false } }.count == 1)
            #expect(try await subject.count("subscriber") == 1)
            #expect(try await subject.count("subscription") == 1)
            #expect(try await subject.count("outboxMessage") == 1)
        }
    }

    @Test(
        "60 requests at once for 40 addresses: each answered for itself, a request the schema refuses and an unknown list included",
        arguments: StoreKind.allCases
    )
    func concurrentIntakeOfMany(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            try await subject.addList()
            let store = subject.store
            let now = Date()
            // Addresses 0..<40 once each and 0..<20 a second time (in upper case);
            // number 7 names an unknown list and number 13 a name the schema refuses.
            let requests: [SubscriptionRequest] = try (0..<60).map { index in
                let number = index % 40
                let address = index < 40 ? "p\(number)@example.se" : "P\(number)@EXAMPLE.SE"
                switch number {
                case 7: return try SubscriptionRequest.form(address, list: "nowhere")
                case 13: return try SubscriptionRequest.form(address, name: String(repeating: "n", count: 300))
                default: return try SubscriptionRequest.form(address)
                }
            }
            let outcomes = await withTaskGroup(of: (Int, Result<IntakeOutcome, any Error>).self) { group in
                for (index, request) in requests.enumerated() {
                    group.addTask {
                        do { return (index, .success(try await store.subscribe(request, resendWindow: 600, now: now))) } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<IntakeOutcome, any Error>]()) { $0[$1.0] = $1.1 }
            }
            for number in 0..<40 {
                let answers = [number, number + 40].filter { $0 < 60 }.compactMap { outcomes[$0] }
                let queued = answers.filter { if case .success(.confirmationQueued) = $0 { true } else { false } }.count
                let pending = answers.filter { if case .success(.alreadyPending) = $0 { true } else { false } }.count
                switch number {
                case 7:
                    #expect(answers.allSatisfy { if case .failure(KuvertError.unknownList("nowhere")) = $0 { true } else { false } })
                case 13:
                    #expect(answers.allSatisfy { if case .failure = $0 { true } else { false } }, "\(answers)")
                default:
                    #expect(queued == 1 && pending == answers.count - 1, "address \(number): \(answers)")
                }
            }
            #expect(try await subject.count("subscriber") == 38)
            #expect(try await subject.count("subscription") == 38)
            #expect(try await subject.count("outboxMessage") == 38)
            #expect(try await subject.count("consentEvent") == 38)
        }
    }

    @Test("confirmation: the nonce, the window, changed terms, the ledger; unsubscribing ends it once", arguments: StoreKind.allCases)
    func confirmation(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            let now = Date()
            guard
                case .confirmationQueued(let id) = try await store.subscribe(
                    try SubscriptionRequest.form("cay@example.se"),
                    resendWindow: 600,
                    now: now
                )
            else {
                Issue.record("no confirmation queued")
                return
            }
            let context = try #require(try await store.confirmationContext(subscriptionId: id))
            #expect(context.list.slug == "news" && context.terms.version == 1 && context.subscription.status == .pending)
            #expect(try await store.confirmationContext(subscriptionId: id + 1000) == nil)
            let origin = RequestOrigin(ip: "198.51.100.4", userAgent: "Browser", source: "web")
            func accept(_ nonce: String, version: Int? = nil, at: Date = now) async throws -> ConfirmOutcome {
                try await store.confirm(
                    TermsAcceptance(subscriptionId: id, nonce: nonce, termsVersion: version, origin: origin, confirmWindow: 3_600),
                    now: at
                )
            }
            #expect(try await accept("0123456789abcdef0123456789abcdef") == .superseded)
            #expect(try await accept(context.subscription.confirmNonce, at: now.addingTimeInterval(3_601)) == .expired)
            _ = try await store.publishTerms(listSlug: "news", body: "# Terms v2", actor: "test", now: now)
            guard case .termsChanged(let changed) = try await accept(context.subscription.confirmNonce, version: 1) else {
                Issue.record("changed terms not noticed")
                return
            }
            #expect(changed.terms.version == 2)
            guard case .confirmed(let confirmed) = try await accept(context.subscription.confirmNonce, version: 2) else {
                Issue.record("not confirmed")
                return
            }
            #expect(confirmed.subscription.status == .active)
            guard case .alreadyActive = try await accept(context.subscription.confirmNonce) else {
                Issue.record("confirmed twice")
                return
            }
            #expect(
                try await subject.texts("SELECT kind || ' ' || coalesce(termsSHA256, '-') FROM consentEvent ORDER BY id")
                    == ["requested -", "confirmed \(TermsVersion.digest("# Terms v2"))"]
            )

            let endedAndList = try #require(try await store.unsubscribe(subscriptionId: id, origin: origin, now: now))
            let (ended, list) = (endedAndList.subscription, endedAndList.list)
            #expect(ended.status == .unsubscribed && list.slug == "news")
            let again = try #require(try await store.unsubscribe(subscriptionId: id, origin: origin, now: now))
            #expect(again.subscription.status == .unsubscribed)
            #expect(try await store.unsubscribe(subscriptionId: id + 1000, origin: origin, now: now) == nil)
            #expect(try await subject.count("consentEvent", where: "kind = 'withdrawn'") == 1)
            #expect(try await accept(context.subscription.confirmNonce) == .ended)

            let record = try #require(try await store.subscriberRecord(address: try EmailAddress("CAY@example.se")))
            #expect(record.subscriptions.map(\.subscription.status) == [.unsubscribed])
            #expect(record.subscriptions.first?.consent.map(\.kind) == [.requested, .confirmed, .withdrawn])
            #expect(record.subscriptions.first?.termsVersions.values.sorted() == [2])
            let listing = try await store.subscriptions(listSlug: "news", status: .unsubscribed)
            #expect(listing.map(\.address) == ["cay@example.se"])
            #expect(try await store.subscriptions(listSlug: nil, status: .active).isEmpty)
            await #expect(throws: KuvertError.unknownList("gone")) { try await store.subscriptions(listSlug: "gone", status: nil) }
        }
    }
}
