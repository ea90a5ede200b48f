/// 128 random bits in lower-case hex (32 characters): confirmation nonces,
/// Message-IDs and MIME boundaries.
public enum RandomHex {
    /// A fresh random value from the system's generator.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: &words) { random in
            String(unsafeUninitializedCapacity: 32) { buffer in
                for (index, byte) in random.enumerated() {
                    buffer[2 * index] = digits.utf8Start[Int(byte >> 4)]
                    buffer[2 * index + 1] = digits.utf8Start[Int(byte & 0xF)]
                }
                return 32
            }
        }
    }
}
