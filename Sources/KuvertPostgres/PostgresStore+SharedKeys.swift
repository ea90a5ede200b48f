import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: SharedKeys {
    /// Under a transaction-level advisory lock, so that two nodes starting at
    /// once with different keys cannot both pass.
    public func checkSigningKeys(_ keys: KeyRing, window: TimeInterval, now: Date) async throws {
        let signing = keys.fingerprints[0]
        try await transaction { [location] c in
            try await c.run("SELECT pg_advisory_xact_lock(\(Self.keyLock))")
            let others = try await c.column(
                "SELECT fingerprint FROM signingKey WHERE lastSeenAt > \(now.addingTimeInterval(-window)) AND fingerprint != \(signing)",
                as: String.self
            )
            if !others.allSatisfy(keys.fingerprints.contains) {
                throw KuvertError.configuration(
                    "Another node of the store \(location) signs links with a key this node does not have, so links it "
                        + "makes would not open here: copy secret.key from that node's data directory (or its "
                        + "KUVERT_SECRET) to this one; to rotate, add the new key on every node first, then make it the first."
                )
            }
            try await c.run(
                """
                INSERT INTO signingKey (fingerprint, lastSeenAt) VALUES (\(signing), \(now))
                ON CONFLICT (fingerprint) DO UPDATE SET lastSeenAt = EXCLUDED.lastSeenAt
                """
            )
        }
    }

    /// The advisory lock of the key check.
    static let keyLock: Int64 = 0x6B75_7665_726B  // "kuverk"
}
