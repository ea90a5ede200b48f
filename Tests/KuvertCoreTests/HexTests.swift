import Crypto
import Foundation
import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Hex")
struct HexTests {
    @Test("lower-case hex of a digest, as RFC 6234's test vector writes it")
    func digest() {
        #expect(TermsVersion.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect([UInt8]([0x00, 0x0f, 0xf0, 0xff]).lowercaseHex == "000ff0ff")
        #expect([UInt8]().lowercaseHex == "")
    }
}
