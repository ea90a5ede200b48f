import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite
@testable import KuvertWeb

@Suite("Several lists in one form")
struct SeveralListsTests {
    @Test("list repeated in a form or a JSON array: one pending request per list, the same answer; a box per list, each accepted its own consent")
    func severalLists() async throws {
        let app = try await TestApp()
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.addList("events", name: "Evenemang", language: .sv)
        try await app.addList("offers", name: "Erbjudanden", language: .sv)
        try await app.application.test(.router) { client in
            let one = try await client.postForm("/subscribe", "email=ett%40example.se&list=news")
            let several = try await client.postForm("/subscribe", "email=flera%40example.se&list=news&list=events&list=offers")
            #expect(several.status == .ok && several.text == one.text)
            let json = try await client.postJSON("/subscribe", #"{"email":"json@example.se","list":["events","offers"]}"#)
            #expect(json.status == .accepted)
            #expect(
                try await app.count(
                    "SELECT count(*) FROM subscription s JOIN subscriber p ON p.id = s.subscriberId WHERE p.addressKey = 'json@example.se'"
                ) == 2
            )

            // Refused, nothing stored: an unknown list, more than ten, an empty one.
            let eleven = (0..<11).map { "list=l\($0)" }.joined(separator: "&")
            for body in ["email=x%40example.se&list=news&list=nope", "email=x%40example.se&" + eleven, "email=x%40example.se&list=news&list="] {
                let refused = try await client.postForm("/subscribe", body, headers: [.accept: "application/json"])
                #expect(refused.status == .unprocessableContent, "\(body): \(refused.status)")
            }
            let empty = try await client.postJSON("/subscribe", #"{"email":"x@example.se","list":[]}"#)
            let notStrings = try await client.postJSON("/subscribe", #"{"email":"x@example.se","list":["news",1]}"#)
            #expect(empty.status == .unprocessableContent && notStrings.status == .unprocessableContent)
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE addressKey = 'x@example.se'") == 0)

            let lead = try #require(
                try await app.store.writer.read { db in
                    try Int64.fetchOne(
                        db,
                        sql: """
                            SELECT m.subscriptionId FROM outboxMessage m JOIN subscription s ON s.id = m.subscriptionId
                            JOIN subscriber p ON p.id = s.subscriberId
                            WHERE p.addressKey = 'flera@example.se' AND m.kind = 'confirmation' AND m.status = 'queued'
                            """
                    )
                }
            )
            let context = try #require(try await app.store.confirmationContext(subscriptionId: lead))
            let service = ConfirmationService(store: app.store, signer: app.signer, confirmTTL: 86_400)
            let path = "/confirm/" + service.token(for: context.subscription)

            let page = try await client.execute(uri: path, method: .get)
            #expect(page.status == .ok && page.text.contains("Bekräfta dina prenumerationer"))
            for slug in ["news", "events", "offers"] {
                #expect(page.text.contains(#"<input type="checkbox" name="accept_terms" value="\#(slug)">"#), "\(slug)")
            }
            #expect(!page.text.contains("checked"))
            #expect(page.text.contains(#"name="shown" value="news:1 events:1 offers:1""#))

            let nothing = try await client.postForm(path, "shown=news%3A1+events%3A1+offers%3A1")
            #expect(nothing.status == .unprocessableContent && nothing.text.contains("accept-error"))
            let yesOnly = try await client.postForm(path, "accept_terms=yes")
            #expect(yesOnly.status == .unprocessableContent)

            let accepted = try await client.postForm(
                path,
                "accept_terms=news&accept_terms=offers&shown=news%3A1+events%3A1+offers%3A1",
                headers: [.userAgent: "Browser/3"]
            )
            #expect(accepted.status == .ok && accepted.text.contains("Nyheter, Erbjudanden"), "\(accepted.text)")
            #expect(
                try await app.store.writer.read { db in
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT l.slug || ' ' || s.status FROM subscription s JOIN mailingList l ON l.id = s.listId
                            JOIN subscriber p ON p.id = s.subscriberId WHERE p.addressKey = 'flera@example.se' ORDER BY l.id
                            """
                    )
                } == ["news active", "events pending", "offers active"]
            )
            #expect(try await app.count("SELECT count(*) FROM consentEvent WHERE kind = 'confirmed' AND userAgent = 'Browser/3'") == 2)
            // The page again: the joined ones say so, the other still has its box.
            let again = try await client.execute(uri: path, method: .get)
            #expect(again.text.contains("Du prenumererar redan på Nyheter") && again.text.contains(#"value="events">"#))
        }
    }

    @Test("/form with list named several times: a box per list, none ticked; posting none ticked is refused, ticked ones are asked for")
    func embeddableFormWithBoxes() async throws {
        let app = try await TestApp(formMinimumSeconds: 0)
        try await app.addList(name: "Nyheter", language: .sv)
        try await app.addList("events", name: "Evenemang", language: .sv)
        _ = try await app.store.editList(slug: "events", ListEdit(description: "Några gånger om året."), actor: "test", now: Date())
        try await app.application.test(.router) { client in
            let form = try await client.execute(uri: "/form?list=news&list=events&list=nope&locale=sv", method: .get)
            #expect(form.status == .ok)
            #expect(form.text.contains(#"<input type="checkbox" name="list" value="news"> <span>Nyheter</span>"#), "\(form.text)")
            #expect(form.text.contains(#"value="events" aria-describedby="about-events"> <span>Evenemang</span>"#))
            #expect(!form.text.contains(#"value="nope""#) && !form.text.contains("checked"))
            #expect(!form.text.contains(#"<input type="hidden" name="list""#))
            let one = try await client.execute(uri: "/form?list=news&locale=sv", method: .get)
            #expect(one.text.contains(#"<input type="hidden" name="list" value="news">"#) && !one.text.contains("checkbox"))

            let none = try await client.postForm("/subscribe", "email=ingen%40example.se&choose=yes&locale=sv")
            #expect(none.status == .unprocessableContent)
            #expect(try await app.count("SELECT count(*) FROM subscriber WHERE addressKey = 'ingen@example.se'") == 0)
            let ticked = try await client.postForm("/subscribe", "email=vald%40example.se&choose=yes&list=events&locale=sv")
            #expect(ticked.status == .ok)
            #expect(
                try await app.count(
                    "SELECT count(*) FROM subscription s JOIN mailingList l ON l.id = s.listId JOIN subscriber p ON p.id = s.subscriberId WHERE p.addressKey = 'vald@example.se' AND l.slug = 'events'"
                ) == 1
            )
        }
    }
}
