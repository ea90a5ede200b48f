import Foundation
import KuvertCore
import PostgresNIO

/// What a failure means: the store's or the statement's.
extension PostgresStore {
    /// A PostgreSQL or postgres-nio error as one line naming the store: a
    /// `StoreUnavailable` when the server, not the statement, is the problem
    /// (the web answers it 503 and the request can be sent again).
    static func oneLine(_ error: any Error, location: PostgresLocation) -> any Error {
        switch error {
        case let error as KuvertError: return error
        case let error as ConfirmationService.LinkError: return error
        case let error as StoreUnavailable: return error
        case let error as PostgresTransactionError:
            return oneLine(error.closureError ?? error.beginError ?? error.commitError ?? error, location: location)
        case let error as PSQLError:
            // A server's own words, else what the connection met (refused, no such host), else the kind.
            let reason = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            let message = "The PostgreSQL store \(location) cannot be used: \(reason)."
            return unavailability(error).map { StoreUnavailable($0, detail: message) } ?? KuvertError.configuration(message)
        case is CancellationError:
            return error
        default:
            return StoreUnavailable(.unreachable, detail: "The PostgreSQL store \(location) cannot be used: \(error).")
        }
    }

    /// Why a postgres-nio error leaves the store unusable for now, or nil for a
    /// statement's own fault (a constraint, a syntax error: a bug to report).
    static func unavailability(_ error: PSQLError) -> StoreUnavailable.Reason? {
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .poolClosed, .clientClosedConnection,
            .sslUnsupported, .failedToAddSSLHandler:
            return .unreachable
        case .queryCancelled:
            return .noAnswer
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            // 53100 disk_full; 53xxx out of resources; 08 connection; 57P0x
            // shutdown, crash recovery, cannot connect now; 25006 read only.
            if state == "53100" { return .diskFull }
            if state.hasPrefix("53") || state == "40001" || state == "40P01" || state == "55P03" { return .busy }
            if state.hasPrefix("08") || state.hasPrefix("57P") { return .unreachable }
            if state == "25006" { return .cannotWrite }
            return nil
        default:
            return nil
        }
    }
}
