import Foundation
import GRDB
import KuvertCore

extension StoreTime {
    /// The store's value for `date`: its text, as GRDB would write it.
    static func value(_ date: Date) -> DatabaseValue { text(date).databaseValue }
}
