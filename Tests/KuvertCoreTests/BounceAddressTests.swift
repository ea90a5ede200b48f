import Crypto
import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Signed envelope senders")
struct BounceAddressTests {
    let key = SymmetricKey(size: .bits256)

    @Test("an address names its message, in lower case within 64 octets, and reads back in any case")
    func roundTrip() throws {
        let bounces = BounceAddresses(domain: "Bounces.Example.SE", keys: [key])
        for id: Int64 in [1, 42, 9_223_372_036_854_775_807] {
            let address = bounces.address(for: id)
            let local = try #require(address.split(separator: "@").first)
            #expect(address == address.lowercased() && address.hasSuffix("@bounces.example.se"))
            #expect(local.utf8.count <= 64)
            #expect(bounces.messageId(of: address) == id)
            #expect(bounces.messageId(of: address.uppercased()) == id)
        }
    }

    @Test("a forged MAC, another message's MAC, another domain or key, and malformed addresses name nothing")
    func forgeries() {
        let bounces = BounceAddresses(domain: "bounces.example.se", keys: [key])
        let genuine = bounces.address(for: 7)
        let mac = genuine.split(separator: "-")[1].split(separator: "@")[0]
        var flipped = Array(mac)
        flipped[0] = flipped[0] == "a" ? "b" : "a"
        let refused = [
            "m7-\(String(flipped))@bounces.example.se",
            "m8-\(mac)@bounces.example.se",
            "m7-\(mac)@example.se",
            "m7-\(mac)@evil.bounces.example.se",
            "m7-\(mac.dropLast())@bounces.example.se",
            "m7-\(mac)a@bounces.example.se",
            "m0-\(mac)@bounces.example.se",
            "m-1-\(mac)@bounces.example.se",
            "7-\(mac)@bounces.example.se",
            "m7-@bounces.example.se",
            "m7-\(mac)",
            "",
            "m7-\(mac.dropLast())1@bounces.example.se",
        ]
        for address in refused {
            #expect(bounces.messageId(of: address) == nil, "\(address)")
        }
        #expect(BounceAddresses(domain: "bounces.example.se", keys: [SymmetricKey(size: .bits256)]).messageId(of: genuine) == nil)
    }

    @Test("after a rotation, bounces of mail sent under the old key still find their message")
    func rotation() {
        let old = BounceAddresses(domain: "bounces.example.se", keys: [key])
        let rotated = BounceAddresses(domain: "bounces.example.se", keys: [SymmetricKey(size: .bits256), key])
        #expect(rotated.messageId(of: old.address(for: 99)) == 99)
        #expect(rotated.address(for: 99) != old.address(for: 99))
    }

    @Test("KUVERT_BOUNCE_DOMAIN takes a domain, in lower case, and refuses anything else in one line")
    func setting() throws {
        let settings = try MailSettings(SettingSource(["KUVERT_BOUNCE_DOMAIN": "Bounces.Example.se"]))
        #expect(settings.bounceDomain == "bounces.example.se")
        #expect(try MailSettings(SettingSource([:])).bounceDomain == nil)
        for bad in ["localhost", "bounces..example.se", "-x.example.se", "b@example.se", "bounces.example.se\r\nRCPT", "ex ample.se"] {
            #expect(throws: KuvertError.self) { try MailSettings(SettingSource(["KUVERT_BOUNCE_DOMAIN": bad])) }
        }
    }
}
