import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: APITokenStore {
    public func createAPIToken(name: String, tokenHash: String, actor: String, now: Date) async throws -> APIToken {
        try await writer.write { db in
            guard try APIToken.filter(Column("name") == name && Column("revokedAt") == nil).fetchCount(db) == 0 else {
                throw KuvertError.apiTokenExists(name)
            }
            var token = APIToken(name: name, tokenHash: tokenHash, createdAt: now)
            try token.insert(db)
            var audit = AuditEvent(occurredAt: now, actor: actor, action: "api-token.created", detail: name)
            try audit.insert(db)
            return token
        }
    }

    public func apiTokens() async throws -> [APIToken] {
        try await writer.read { db in try APIToken.order(Column("id")).fetchAll(db) }
    }

    public func revokeAPIToken(name: String, actor: String, now: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE apiToken SET revokedAt = ? WHERE name = ? AND revokedAt IS NULL",
                arguments: [StoreTime.value(now), name]
            )
            guard db.changesCount > 0 else { return false }
            var audit = AuditEvent(occurredAt: now, actor: actor, action: "api-token.revoked", detail: name)
            try audit.insert(db)
            return true
        }
    }

    public func activeAPIToken(hash: String) async throws -> APIToken? {
        try await writer.read { db in
            try APIToken.filter(Column("tokenHash") == hash && Column("revokedAt") == nil).fetchOne(db)
        }
    }
}
