import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: APITokenStore {
    public func createAPIToken(name: String, tokenHash: String, actor: String, now: Date) async throws -> APIToken {
        do {
            return try await transaction { c in
                guard
                    try await c.value(
                        "SELECT 1 FROM apiToken WHERE name = \(name) AND revokedAt IS NULL",
                        as: Int.self
                    ) == nil
                else { throw KuvertError.apiTokenExists(name) }
                let id = try await c.value(
                    """
                    INSERT INTO apiToken (name, tokenHash, createdAt) VALUES (\(name), \(tokenHash), \(now)) RETURNING id
                    """,
                    as: Int64.self
                )
                try await c.run(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, detail) VALUES (\(now), \(actor), 'api-token.created', \(name))
                    """
                )
                return APIToken(id: id, name: name, tokenHash: tokenHash, createdAt: now)
            }
        } catch {
            // Another node made one of that name between the check and the insert:
            // the partial unique index on active names refused it (said in the one-line error).
            if "\(error)".contains("apitoken_active_name") { throw KuvertError.apiTokenExists(name) }
            throw error
        }
    }

    public func apiTokens() async throws -> [APIToken] {
        try await connection { c in
            try await c.rows("SELECT \(unescaped: APIToken.select("t")) FROM apiToken t ORDER BY t.id").map { try APIToken($0, "t") }
        }
    }

    public func revokeAPIToken(name: String, actor: String, now: Date) async throws -> Bool {
        try await transaction { c in
            guard
                try await c.value(
                    "UPDATE apiToken SET revokedAt = \(now) WHERE name = \(name) AND revokedAt IS NULL RETURNING id",
                    as: Int64.self
                ) != nil
            else { return false }
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, detail) VALUES (\(now), \(actor), 'api-token.revoked', \(name))
                """
            )
            return true
        }
    }

    public func activeAPIToken(hash: String) async throws -> APIToken? {
        try await connection { c in
            try await c.rows(
                "SELECT \(unescaped: APIToken.select("t")) FROM apiToken t WHERE t.tokenHash = \(hash) AND t.revokedAt IS NULL"
            ).first.map { try APIToken($0, "t") }
        }
    }
}
