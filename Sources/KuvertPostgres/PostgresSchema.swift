/// The PostgreSQL schema: the same tables, checks and append-only rules as the
/// SQLite store's (`SQLiteStore+Migrations.swift`), one migration per shipped
/// change, never edited once shipped. Unquoted names fold to lower case in
/// PostgreSQL, so the store's SQL uses the same camelCase names as SQLite's.
import Foundation

enum PostgresSchema {
    /// Identifiers and SQL, in order. Each runs in the transaction that holds the migration lock.
    static let migrations: [(identifier: String, sql: String)] = [
        ("pg1-foundation", foundation),
        ("pg2-rate-limits", rateLimits),
        ("pg3-signing-keys", signingKeys),
        ("pg4-bounces", bounces),
        ("pg5-api-tokens", apiTokens),
        ("pg6-webhooks", webhooks),
        ("pg7-request-functions", requestFunctions),
        ("pg8-durable-delivery-records", durableDeliveryRecords),
        ("pg9-terms-translations", termsTranslations),
        ("pg10-descriptions-and-restriction", descriptionsAndRestriction),
        ("pg11-welcome-mail", welcomeMail),
        ("pg12-address-change", addressChange),
        ("pg13-terms-changes", termsChanges),
        ("pg14-provider-events", providerEvents),
    ]
}

extension PostgresStore {
    /// The newest schema this binary knows (`kuvert --version`).
    public static var schemaVersion: String { PostgresSchema.migrations.last?.identifier ?? "none" }
}
