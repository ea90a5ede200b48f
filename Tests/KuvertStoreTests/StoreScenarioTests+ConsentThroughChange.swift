import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore

// Rectification and restriction of processing, and what lists tell the manage page, on both stores.
extension StoreScenarioTests {
    @Test(
        "restriction: nothing queued for the person goes, campaigns leave them out, the webhook and audit hear it once; lifting it ends it",
        arguments: StoreKind.allCases
    )
    func restriction(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events")
            let now = Date()
            try await store.setWebhooks(enabled: true)
            try await store.activate("ann@example.se", now: now)
            try await store.activate("ann@example.se", list: "events", now: now)
            try await store.activate("bo@example.se", now: now)
            // Ann's confirmation mails are queued still; one newsletter waits for both.
            let ann = try #require(try await store.subscriber(address: try EmailAddress("Ann@Example.SE")))
            let annId = try #require(ann.id)
            #expect(ann.restrictedAt == nil && ann.address == "ann@example.se")

            #expect(try await store.restrict(subscriberId: annId, .restricted(reason: "bestrider uppgifterna"), actor: "cli", now: now))
            #expect(try await !store.restrict(subscriberId: annId, .restricted(reason: nil), actor: "cli", now: now))
            let restricted = try #require(try await store.subscriber(id: annId))
            #expect(restricted.restrictedAt != nil && restricted.restrictionReason == "bestrider uppgifterna")
            // Her queued mail (confirmations and welcome receipts) is skipped as restricted; Bo's is not touched.
            #expect(try await subject.count("outboxMessage", where: "status = 'skipped' AND lastReply = 'restricted'") == 4)
            #expect(try await subject.count("outboxMessage", where: "status = 'queued'") == 2)

            let campaign = try await store.createCampaign(
                try Campaign.draft(subject: "Nummer 1", markdown: "Text", now: now),
                listSlug: "news",
                actor: "cli"
            )
            let queued = try await store.queueCampaign(id: try #require(campaign.id), sendAt: now, now: now, batchSize: 10, actor: "cli")
            #expect(queued == 1)
            // A message leased for her all the same (queued before, from another node) says so to the composer.
            try await subject.execute("UPDATE outboxMessage SET status = 'queued' WHERE lastReply = 'restricted'")
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }
            #expect(leased.filter(\.restricted).map(\.address) == Array(repeating: "ann@example.se", count: 4))
            #expect(leased.filter { !$0.restricted }.map(\.address) == Array(repeating: "bo@example.se", count: 3))

            // Export says so; the reason goes with erasure.
            let export = try #require(try await store.export(try EmailAddress("ann@example.se"), now: now))
            #expect(export.processingRestricted && export.restrictionReason == "bestrider uppgifterna")

            #expect(try await store.restrict(subscriberId: annId, .lifted, actor: "api:shop", now: now))
            #expect(try await !store.restrict(subscriberId: annId, .lifted, actor: "api:shop", now: now))
            #expect(try await store.subscriber(id: annId)?.restrictedAt == nil)
            #expect(
                try await subject.texts("SELECT event FROM webhookEvent WHERE event LIKE 'subscriber.%' ORDER BY id")
                    == ["subscriber.restricted", "subscriber.restricted", "subscriber.unrestricted", "subscriber.unrestricted"]
            )
            #expect(
                try await subject.texts("SELECT actor || ' ' || action FROM auditEvent WHERE action LIKE 'subscriber.%' ORDER BY id")
                    == ["cli subscriber.restricted", "api:shop subscriber.unrestricted"]
            )

            _ = try await store.restrict(subscriberId: annId, .restricted(reason: "x"), actor: "cli", now: now)
            #expect(
                try await store.erase(try EmailAddress("ann@example.se"), suppressionHash: String(repeating: "a", count: 64), actor: "cli", now: now)
            )
            #expect(try await subject.texts("SELECT coalesce(restrictionReason, '-') FROM subscriber WHERE id = \(annId)") == ["-"])
            #expect(try await store.subscriber(id: annId) == nil)
            await #expect(throws: KuvertError.unknownSubscriber) {
                try await store.restrict(subscriberId: annId, .lifted, actor: "cli", now: now)
            }
        }
    }

    @Test(
        "rectification: name and language on every list, the fields named in audit and webhook, never a value; nothing for no change",
        arguments: StoreKind.allCases
    )
    func rectification(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events")
            let now = Date()
            try await store.request("cy@example.se", name: "Cy", now: now)
            try await store.activate("cy@example.se", list: "events", now: now)
            try await store.setWebhooks(enabled: true)
            let id = try #require(try await store.subscriber(address: try EmailAddress("cy@example.se"))?.id)

            let change = try Rectification.validated(name: "Cecilia Ek", locale: "sv")
            #expect(try await store.rectify(subscriberId: id, change, actor: "web", now: now) == ["name", "locale"])
            #expect(try await store.rectify(subscriberId: id, change, actor: "web", now: now) == [])
            #expect(try await subject.texts("SELECT name || ' ' || language FROM subscription ORDER BY id") == ["Cecilia Ek sv", "Cecilia Ek sv"])
            #expect(try await store.rectify(subscriberId: id, Rectification(name: ""), actor: "cli", now: now) == ["name"])
            #expect(try await subject.count("subscription", where: "name IS NULL") == 2)

            let events = try await store.leaseDueWebhooks(limit: 10, leaseFor: 60, holder: Self.holder, now: now)
            #expect(events.map(\.kind) == [.updated, .updated] && events.allSatisfy { $0.fields == ["name", "locale"] })
            let body = String(decoding: events[0].body(), as: UTF8.self)
            #expect(body.contains("\"fields\":[\"name\",\"locale\"]") && !body.contains("Cecilia"))
            #expect(
                try await subject.texts(
                    "SELECT actor || ' ' || action || ' ' || detail FROM auditEvent WHERE action = 'subscriber.rectified' ORDER BY id"
                )
                    == ["web subscriber.rectified name, locale", "cli subscriber.rectified name"]
            )
            #expect(throws: KuvertError.self) { try Rectification.validated(name: "Eve\r\nBcc: x", locale: nil) }
            #expect(throws: KuvertError.self) { try Rectification.validated(name: nil, locale: "de") }
            await #expect(throws: KuvertError.unknownSubscriber) {
                try await store.rectify(subscriberId: id + 100, change, actor: "cli", now: now)
            }
        }
    }

    @Test("a list's description: set when created, changed and removed by an edit", arguments: StoreKind.allCases)
    func listDescription(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            var list = MailingList(slug: "news", name: "Nyheter", language: .sv, createdAt: Date(), description: "En gång i månaden.")
            list = try await store.createList(list, terms: "Villkor", actor: "cli")
            #expect(try await store.mailingList(slug: "news").description == "En gång i månaden.")
            _ = try await store.editList(slug: "news", ListEdit(description: "Varje vecka."), actor: "cli", now: Date())
            #expect(try await store.mailingList(slug: "news").description == "Varje vecka.")
            _ = try await store.editList(slug: "news", ListEdit(description: ""), actor: "cli", now: Date())
            #expect(try await store.mailingList(slug: "news").description == nil)
            #expect(try await store.listSummaries().first?.list.description == nil)

            // Published terms, by version, with their translations.
            _ = try await store.publishTerms(listSlug: "news", body: "Villkor 2", translations: [.en: "Terms 2"], actor: "cli", now: Date())
            let first = try #require(try await store.publishedTerms(listSlug: "news", version: 1))
            #expect(first.terms.body == "Villkor" && first.translations.isEmpty && first.currentVersion == 2)
            let current = try #require(try await store.publishedTerms(listSlug: "news", version: nil))
            #expect(current.terms.version == 2 && current.text(in: .en).terms.body == "Terms 2")
            #expect(current.text(in: .en).terms.sha256 == TermsVersion.digest("Terms 2"))
            #expect(try await store.publishedTerms(listSlug: "news", version: 3) == nil)
            await #expect(throws: KuvertError.unknownList("nope")) { try await store.publishedTerms(listSlug: "nope", version: nil) }
        }
    }

    @Test(
        "the manage page: every list with the person's place; joining records the terms shown, leaving ends at once, changed terms change nothing",
        arguments: StoreKind.allCases
    )
    func preferences(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events", language: .sv, terms: "Villkor för evenemang")
            try await subject.addList("offers")
            let now = Date()
            try await store.activate("dag@example.se", now: now)
            try await store.request("dag@example.se", list: "offers", name: "Dag", now: now)
            try await store.setWebhooks(enabled: true)
            let id = try #require(try await store.subscriber(address: try EmailAddress("dag@example.se"))?.id)

            let before = try #require(try await store.preferences(subscriberId: id))
            #expect(before.lists.map(\.list.slug) == ["news", "events", "offers"])
            #expect(before.lists.map(\.status) == [.active, nil, .pending])
            #expect(before.name == "Dag" && before.language == .en)
            #expect(before.lists[1].terms.version == 1 && before.lists[1].terms.body == "Villkor för evenemang")

            let origin = RequestOrigin(ip: "192.0.2.9", userAgent: "Browser/2", source: "preferences")
            // Events joined with the version shown, news left, offers stays pending.
            let saved = try await store.savePreferences(
                subscriberId: id,
                PreferenceChange(lists: ["events": 1], rectification: Rectification(name: "Dag Ek")),
                origin: origin,
                now: now
            )
            #expect(saved == .saved(joined: ["events"], left: ["news"], fields: ["name"]))
            let after = try #require(try await store.preferences(subscriberId: id))
            #expect(after.lists.map(\.status) == [.unsubscribed, .active, .pending] && after.name == "Dag Ek")
            #expect(
                try await subject.texts(
                    """
                    SELECT l.slug || ' ' || e.kind || ' ' || e.source || ' ' || coalesce(e.termsSHA256, '-') || ' ' || coalesce(e.ip, '-')
                    FROM consentEvent e JOIN subscription s ON s.id = e.subscriptionId JOIN mailingList l ON l.id = s.listId
                    WHERE e.source = 'preferences' ORDER BY e.id
                    """
                ) == [
                    "news withdrawn preferences - 192.0.2.9",
                    "events requested preferences - 192.0.2.9",
                    "events confirmed preferences \(TermsVersion.digest("Villkor för evenemang")) 192.0.2.9",
                ]
            )

            // Terms published meanwhile: nothing joins, not even a list whose terms did not change.
            _ = try await store.publishTerms(listSlug: "news", body: "Nya villkor", actor: "cli", now: now)
            let stale = try await store.savePreferences(
                subscriberId: id,
                PreferenceChange(lists: ["events": 1, "news": 1, "offers": 1]),
                origin: origin,
                now: now
            )
            #expect(stale == .termsChanged(slugs: ["news"]))
            #expect(try await store.preferences(subscriberId: id)?.lists.map(\.status) == [.unsubscribed, .active, .pending])
            await #expect(throws: KuvertError.unknownList("nope")) {
                try await store.savePreferences(subscriberId: id, PreferenceChange(lists: ["nope": 1]), origin: origin, now: now)
            }

            // Leaving everything ends the pending request too.
            let left = try await store.savePreferences(
                subscriberId: id,
                PreferenceChange(lists: ["events": 1], leaveAll: true),
                origin: origin,
                now: now
            )
            #expect(left == .saved(joined: [], left: ["events", "offers"], fields: []))
            #expect(try await store.preferences(subscriberId: id)?.lists.map(\.status) == [.unsubscribed, .unsubscribed, .unsubscribed])
            #expect(
                try await subject.texts("SELECT event FROM webhookEvent ORDER BY id") == [
                    "subscription.unsubscribed", "subscription.confirmed", "subscriber.updated", "subscriber.updated",
                    "subscriber.updated", "subscription.unsubscribed",
                ]
            )

            #expect(
                try await store.erase(try EmailAddress("dag@example.se"), suppressionHash: String(repeating: "d", count: 64), actor: "cli", now: now)
            )
            #expect(try await store.preferences(subscriberId: id) == nil)
            await #expect(throws: KuvertError.unknownSubscriber) {
                try await store.savePreferences(subscriberId: id, PreferenceChange(lists: [:]), origin: origin, now: now)
            }
        }
    }

    @Test(
        "several lists in one request: one nonce, one confirmation mail naming them all; each accepted list its own consent; one welcome",
        arguments: StoreKind.allCases
    )
    func severalLists(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events", name: "Evenemang")
            try await subject.addList("offers", name: "Erbjudanden")
            let now = Date()
            let request = try SubscriptionRequest.form("eva@example.se")
            let outcome = try await store.subscribe(request, lists: ["news", "events", "offers"], resendWindow: 600, now: now)
            let lead = try #require(outcome.queuedSubscription)
            #expect(try await subject.count("subscription", where: "status = 'pending'") == 3)
            #expect(try await subject.count("consentEvent", where: "kind = 'requested'") == 3)
            #expect(try await subject.texts("SELECT DISTINCT confirmNonce FROM subscription").count == 1)
            #expect(try await subject.count("outboxMessage", where: "kind = 'confirmation' AND status = 'queued' AND subscriptionId = \(lead)") == 1)
            #expect(
                try await subject.count(
                    "outboxMessage",
                    where: "status = 'skipped' AND lastReply = '\(ConfirmationMail.sharedReason.replacingOccurrences(of: "'", with: "''"))'"
                ) == 2
            )
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }
            #expect(leased.count == 1 && leased[0].list.slug == "news" && leased[0].otherLists == ["Evenemang", "Erbjudanden"])

            // The same request again within the window: nothing more; an unknown list stores nothing.
            #expect(try await store.subscribe(request, lists: ["news", "events"], resendWindow: 600, now: now) == .alreadyPending)
            await #expect(throws: KuvertError.unknownList("nope")) {
                try await store.subscribe(try .form("ny@example.se"), lists: ["news", "nope"], resendWindow: 600, now: now)
            }
            #expect(try await subject.count("subscriber", where: "addressKey = 'ny@example.se'") == 0)

            let group = try await store.confirmationGroup(subscriptionId: lead)
            #expect(group.map(\.list.slug) == ["news", "events", "offers"])
            let nonce = group[0].subscription.confirmNonce
            let origin = RequestOrigin(ip: "192.0.2.4", userAgent: "UA", source: "confirm-page")
            let accepted = try await store.confirm(
                group.filter { $0.list.slug != "events" }.map {
                    TermsAcceptance(subscriptionId: $0.subscription.id ?? 0, nonce: nonce, termsVersion: 1, origin: origin, confirmWindow: 86_400)
                },
                now: now
            )
            #expect(accepted.allSatisfy { if case .confirmed = $0 { true } else { false } })
            #expect(
                try await subject.texts("SELECT l.slug || ' ' || s.status FROM subscription s JOIN mailingList l ON l.id = s.listId ORDER BY l.id")
                    == ["news active", "events pending", "offers active"]
            )
            #expect(try await subject.count("consentEvent", where: "kind = 'confirmed' AND ip = '192.0.2.4'") == 2)
            #expect(try await subject.count("outboxMessage", where: "kind = 'welcome'") == 1)
            let welcome = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: now) }
            #expect(welcome.map(\.message.kind) == [.welcome])
            #expect(welcome.first?.receipt?.entries.map(\.listSlug) == ["news", "offers"])

            // Every list active already: said so.
            try await store.activate("bo@example.se", now: now)
            #expect(try await store.subscribe(try .form("bo@example.se"), lists: ["news"], resendWindow: 600, now: now) == .alreadyActive)
            let mixed = try await store.subscribe(try .form("bo@example.se"), lists: ["news", "events"], resendWindow: 600, now: now)
            #expect(mixed.queuedSubscription != nil)
        }
    }

    @Test(
        "a new address: kept aside until its owner confirms, then used everywhere with the consent carried over; a taken one changes nothing",
        arguments: StoreKind.allCases
    )
    func addressChange(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events")
            let now = Date()
            try await store.activate("gammal@example.se", now: now)
            try await store.activate("gammal@example.se", list: "events", now: now)
            try await store.activate("upptagen@example.se", now: now)
            try await store.setWebhooks(enabled: true)
            try await subject.execute("UPDATE outboxMessage SET status = 'sent'")
            let id = try #require(try await store.subscriber(address: try EmailAddress("gammal@example.se"))?.id)

            try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("Ny@Example.se"), actor: "web", now: now)
            let first = try #require(try await store.addressChange(subscriberId: id))
            #expect(first.newAddress == "Ny@example.se" && !first.taken)
            // Asked again: the newer replaces it, and the older link stops working.
            let later = now.addingTimeInterval(1)
            try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("ny@example.se"), actor: "web", now: later)
            let change = try #require(try await store.addressChange(subscriberId: id))
            #expect(change.nonce != first.nonce)
            let leased = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: later) }
            #expect(leased.map(\.message.kind) == [.address, .address])
            #expect(leased.filter { $0.addressChange != nil }.map(\.address) == ["ny@example.se"])

            let origin = RequestOrigin(ip: "192.0.2.8", userAgent: "UA", source: "address-change")
            #expect(
                try await store.applyAddressChange(subscriberId: id, nonce: first.nonce, window: 600, origin: origin, now: later) == .noLongerValid
            )
            #expect(
                try await store.applyAddressChange(
                    subscriberId: id,
                    nonce: change.nonce,
                    window: 0.5,
                    origin: origin,
                    now: later.addingTimeInterval(1)
                ) == .expired
            )
            #expect(
                try await store.applyAddressChange(subscriberId: id, nonce: change.nonce, window: 600, origin: origin, now: later)
                    == .changed(newAddress: "ny@example.se")
            )
            #expect(try await store.subscriber(address: try EmailAddress("ny@example.se"))?.id == id)
            #expect(try await store.subscriber(address: try EmailAddress("gammal@example.se")) == nil)
            #expect(try await store.addressChange(subscriberId: id) == nil)
            #expect(try await subject.count("consentEvent", where: "kind = 'rectified' AND source = 'address-change'") == 2)
            #expect(try await subject.texts("SELECT testRecipient FROM outboxMessage WHERE kind = 'address-notice'") == ["gammal@example.se"])
            #expect(try await subject.texts("SELECT fields FROM webhookEvent WHERE event = 'subscriber.updated'") == ["email", "email"])
            #expect(
                try await subject.texts("SELECT action FROM auditEvent WHERE action LIKE 'subscriber.address%' ORDER BY id") == [
                    "subscriber.address-requested", "subscriber.address-requested", "subscriber.address-changed",
                ]
            )
            let notice = try await subject.delivery { try $0.leaseDueMessages(limit: 10, leaseFor: 60, holder: Self.holder, now: later) }
            #expect(notice.filter { $0.message.kind == .addressNotice }.map(\.address) == ["gammal@example.se"])

            // An address that belongs to someone: nothing changes but the waiting change, which ends.
            try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("upptagen@example.se"), actor: "cli", now: later)
            let taken = try #require(try await store.addressChange(subscriberId: id))
            #expect(taken.taken)
            #expect(try await store.applyAddressChange(subscriberId: id, nonce: taken.nonce, window: 600, origin: origin, now: later) == .taken)
            #expect(try await store.subscriber(id: id)?.address == "ny@example.se")
            #expect(try await store.addressChange(subscriberId: id) == nil)

            // One nobody confirms is forgotten with the expired requests.
            try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("glomd@example.se"), actor: "cli", now: now)
            _ = try await store.deleteExpiredPending(before: now.addingTimeInterval(0.5), now: later)
            #expect(try await store.addressChange(subscriberId: id) == nil)

            // Erasure leaves no address behind, waiting or in a notice.
            try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("tredje@example.se"), actor: "cli", now: later)
            #expect(
                try await store.erase(try EmailAddress("ny@example.se"), suppressionHash: String(repeating: "e", count: 64), actor: "cli", now: later)
            )
            #expect(try await subject.count("subscriber", where: "newAddress IS NOT NULL") == 0)
            #expect(try await subject.count("outboxMessage", where: "testRecipient IS NOT NULL") == 0)
            await #expect(throws: KuvertError.unknownSubscriber) {
                try await store.requestAddressChange(subscriberId: id, to: try EmailAddress("x@example.se"), actor: "cli", now: later)
            }
        }
    }

    @Test("acceptance per terms version: active subscriptions by the version their latest consent accepted", arguments: StoreKind.allCases)
    func acceptancePerVersion(kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { subject in
            let store = subject.store
            try await subject.addList()
            try await subject.addList("events")
            let now = Date()
            try await store.activate("a@example.se", now: now)
            let leaving = try await store.activate("b@example.se", now: now)
            _ = try await store.publishTerms(listSlug: "news", body: "Nya villkor", actor: "cli", now: now)
            try await store.activate("c@example.se", now: now)
            try await store.activate("c@example.se", list: "events", now: now)
            _ = try await store.unsubscribe(subscriptionId: leaving, origin: .editor, now: now)
            let summaries = try await store.listSummaries()
            #expect(summaries.map(\.accepted) == [[1: 1, 2: 1], [1: 1]])
        }
    }
}
