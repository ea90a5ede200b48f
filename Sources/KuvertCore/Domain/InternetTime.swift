import Foundation

/// RFC 3339 times (`2026-12-01T08:00:00Z`, `2026-12-01T09:00:00.5+01:00`), read
/// strictly: Foundation's ISO 8601 reading rolls `12:99` over into the next
/// hour, and a send time must mean what it says.
public enum InternetTime {
    /// The time `text` names, or nil when it is no RFC 3339 date-time with
    /// every field in range.
    public static func parse(_ text: String) -> Date? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/
        guard let match = text.wholeMatch(of: pattern),
            let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
            let hour = Int(match.4), let minute = Int(match.5), let second = Int(match.6)
        else { return nil }
        var offset = 0
        if match.9 != nil {
            guard let hours = match.10.flatMap({ Int($0) }), let minutes = match.11.flatMap({ Int($0) }), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3_600 + minutes * 60) * (match.9 == "-" ? -1 : 1)
        }
        // A leap second (:60) reads as the next second's start.
        guard (1...12).contains(month), hour < 24, minute < 60, second <= 60 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let days = calendar.range(of: .day, in: .month, for: calendar.date(from: DateComponents(year: year, month: month, day: 1))!),
            days.contains(day),
            let midnight = calendar.date(from: DateComponents(year: year, month: month, day: day))
        else { return nil }
        let fraction = match.7.flatMap { Double("0" + $0) } ?? 0
        return midnight.addingTimeInterval(TimeInterval(hour * 3_600 + minute * 60 + second - offset) + fraction)
    }
}
