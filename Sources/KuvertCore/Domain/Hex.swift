/// Lower-case hex of bytes: digests, keyed hashes and fingerprints, without
/// Foundation's formatting (which costs microseconds a byte).
extension Sequence where Element == UInt8 {
    public var lowercaseHex: String {
        let digits = hexDigits
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)
