/// 128 random bits in lower-case hex (32 characters): confirmation nonces,
/// Message-IDs and MIME boundaries.
public enum RandomHex {
    /// A fresh random value.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next() as UInt64, generator.next() as UInt64].map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
