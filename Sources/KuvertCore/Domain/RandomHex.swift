#if canImport(Glibc)
import Glibc
#endif

/// 128 random bits in lower-case hex (32 characters): confirmation nonces,
/// Message-IDs and MIME boundaries.
public enum RandomHex {
    /// A fresh random value from the kernel's generator, in one read of
    /// `/dev/urandom` (`SystemRandomNumberGenerator` makes a `getrandom` call
    /// for each 64 bits, and every message needs two values).
    public static func make() -> String {
        var words: (UInt64, UInt64) = (0, 0)
        #if os(Linux)
        let filled = urandom < 0 ? -1 : withUnsafeMutableBytes(of: &words) { read(urandom, $0.baseAddress, $0.count) }
        if filled != MemoryLayout.size(ofValue: words) {
            var generator = SystemRandomNumberGenerator()
            words = (generator.next(), generator.next())
        }
        #else
        var generator = SystemRandomNumberGenerator()
        words = (generator.next(), generator.next())
        #endif
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

    #if os(Linux)
    /// Opened once; -1 where there is none (a bare chroot): then the generator's calls.
    private static let urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    #endif
}
