/// 128 random bits in lower-case hex (32 characters): confirmation nonces,
/// Message-IDs and MIME boundaries.
public enum RandomHex {
    /// A fresh random value.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let words: [UInt64] = [generator.next(), generator.next()]
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for (number, word) in words.enumerated() {
                for nibble in 0..<16 {
                    buffer[number * 16 + nibble] = digits.utf8Start[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)]
                }
            }
            return 32
        }
    }
}
