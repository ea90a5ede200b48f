import Foundation

/// Times as people write them, in the organisation's time zone
/// (`KUVERT_TIME_ZONE`, Europe/Stockholm by default): `13 december 2026 kl. 16:26`
/// in Swedish, `13 December 2026, 16:26` in English. For mail and pages; the
/// store, the API and the exports keep ISO 8601 in UTC.
///
/// Written without a `DateFormatter`: a confirmation mail carries one, and
/// intake sends thousands a second.
public struct HumanTime: Sendable {
    public let timeZone: TimeZone

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// Europe/Stockholm, the default.
    public static let stockholm = HumanTime(timeZone: TimeZone(identifier: "Europe/Stockholm") ?? .gmt)

    static let months: [Language: [String]] = [
        .sv: ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"],
        .en: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    ]

    public func text(_ date: Date, language: Language) -> String {
        // ICU rounds to the nearest millisecond first (half up, as StoreTime
        // does): 23:39:59.9996 reads as 23:40 there, and so here.
        let milliseconds = ((date.timeIntervalSinceReferenceDate + 978_307_200) * 1000 + 0.5).rounded(.down)
        let instant = (milliseconds / 1000).rounded(.down)
        var seconds = time_t(instant) + time_t(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let month = Self.months[language]?[Int(parts.tm_mon)] ?? ""
        let year = Int(parts.tm_year) + 1900
        let clock = (parts.tm_hour < 10 ? "0" : "") + "\(parts.tm_hour):" + (parts.tm_min < 10 ? "0" : "") + "\(parts.tm_min)"
        switch language {
        case .sv: return "\(parts.tm_mday) \(month) \(year) kl. \(clock)"
        case .en: return "\(parts.tm_mday) \(month) \(year), \(clock)"
        }
    }
}
