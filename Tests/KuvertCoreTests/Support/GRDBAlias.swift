import GRDB

/// GRDB's database connection, named for tests that inspect the store directly.
typealias GRDBDatabase = GRDB.Database
