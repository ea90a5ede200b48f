import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Webhook bodies and signatures")
struct WebhookEventTests {
    func event(_ kind: WebhookEvent.Kind, address: String?) -> WebhookEvent {
        WebhookEvent(
            id: 1,
            kind: kind,
            subscriptionId: 1,
            listSlug: "news",
            occurredAt: Date(timeIntervalSince1970: 1_796_337_754),
            address: address,
            status: .queued,
            attempts: 0,
            dueAt: Date()
        )
    }

    @Test("the body: sorted keys, the email only while there is one and never for an erasure")
    func body() {
        #expect(
            String(decoding: event(.confirmed, address: "anna@example.se").body(), as: UTF8.self)
                == #"{"at":"2026-12-03T22:42:34Z","email":"anna@example.se","event":"subscription.confirmed","list":"news","subscription":1}"#
        )
        #expect(
            String(decoding: event(.confirmed, address: nil).body(), as: UTF8.self)
                == #"{"at":"2026-12-03T22:42:34Z","event":"subscription.confirmed","list":"news","subscription":1}"#
        )
        #expect(!String(decoding: event(.erased, address: "anna@example.se").body(), as: UTF8.self).contains("anna"))
    }

    @Test("Kuvert-Signature matches HMAC-SHA256 over t.body as openssl computes it")
    func signature() {
        // printf '1796337903.%s' "$BODY" | openssl dgst -sha256 -hmac sixteen-chars-secret-xyz
        let body = event(.confirmed, address: nil).body()
        #expect(
            WebhookSignature.value(body: body, secret: "sixteen-chars-secret-xyz", time: Date(timeIntervalSince1970: 1_796_337_903))
                == "t=1796337903,v1=90f16743df01b1984241ac34953fad42094bfbb30da155f640569878bf85695c"
        )
    }
}
