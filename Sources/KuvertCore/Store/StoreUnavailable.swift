/// A store that could not do what a request asked, for a reason outside the
/// request: a full disk, a file that cannot be written, a server that is down
/// or did not answer in time. The web answers it `503` with `Retry-After`;
/// the request can be sent again unchanged.
public struct StoreUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, one log line per kind.
    public enum Reason: String, Sendable, CaseIterable {
        case diskFull = "disk full"
        case cannotWrite = "cannot write"
        case unreachable = "unreachable"
        case noAnswer = "no answer in time"
        case busy = "busy"
        case failed = "failed"
    }

    public var reason: Reason
    /// The store's own words for it (an SQLite result code, a PostgreSQL
    /// error code): never a statement's arguments, so no personal data.
    public var detail: String

    public init(_ reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue) (\(detail))" }
}
