import Foundation
import GRDB

@testable import KuvertCore

/// A real SQLite store in its own temporary directory, removed when the value is freed.
final class TemporaryStore: Sendable {
    let directory: String
    let database: AppDatabase

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("kuvert-test-\(UUID().uuidString)").path
        database = try AppDatabase.open(path: directory + "/kuvert.sqlite")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates a list with one terms version.
    @discardableResult
    func addList(
        _ slug: String = "news",
        name: String = "News",
        language: Language = .en,
        terms: String = "# Terms\n\nBe nice.",
        thanksURL: String? = nil,
        from: String? = nil
    ) async throws -> MailingList {
        try await database.createList(
            MailingList(slug: slug, name: name, fromAddress: from, thanksURL: thanksURL, language: language, createdAt: Date()),
            terms: terms,
            actor: "test"
        )
    }

    /// A request from the web form for `email`.
    static func request(_ email: String, list: String? = "news", name: String? = nil) throws -> SubscriptionRequest {
        SubscriptionRequest(
            address: try EmailAddress(email),
            listSlug: list,
            name: name,
            language: nil,
            origin: RequestOrigin(ip: "192.0.2.7", userAgent: "TestAgent/1.0", source: "form"),
            actor: "web"
        )
    }

    /// Runs SQL the store offers no method for, to set up or inspect a scenario.
    func sql<T: Sendable>(_ work: @Sendable @escaping (GRDBDatabase) throws -> T) async throws -> T {
        try await database.writer.write(work)
    }

    func count(_ table: String) async throws -> Int {
        try await sql { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
    }
}
