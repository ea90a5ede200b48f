import Foundation

/// Times as the SQLite store keeps them and the logs print them: GRDB's text
/// form `yyyy-MM-dd HH:mm:ss.SSS` in UTC, written without a `DateFormatter`
/// (which costs microseconds a call on the intake's write path).
package enum StoreTime {
    /// The store's text for `date`, identical to GRDB's `Date.databaseValue`
    /// for years 1 to 9999 (to the nearest millisecond, as ICU does).
    package static func text(_ date: Date) -> String {
        // ICU's input: milliseconds since 1970, computed as Foundation does, and
        // ICU's rounding: half up, also before 1970 (checked on 200,000 random dates).
        let milliseconds = ((date.timeIntervalSinceReferenceDate + 978_307_200) * 1000 + 0.5).rounded(.down)
        var seconds = time_t((milliseconds / 1000).rounded(.down))
        let fraction = Int(milliseconds - Double(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8]()
        bytes.reserveCapacity(23)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        bytes.append(UInt8(ascii: " "))
        digits(Int(parts.tm_hour), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        bytes.append(UInt8(ascii: "."))
        digits(fraction, 3)
        return String(decoding: bytes, as: UTF8.self)
    }
}
