import Foundation

/// For a store that several machines share: that every node signs links with
/// a key the others verify, so a link made on one node opens on any other.
public protocol SharedKeys: Sendable {
    /// Refuses `keys` when a node started within `window` signs with a key
    /// that is not among them; then records this node's signing key as seen now.
    /// - Throws: `KuvertError.configuration`, saying what to copy where.
    func checkSigningKeys(_ keys: KeyRing, window: TimeInterval, now: Date) async throws
}

extension SharedKeys {
    /// Nothing to check for a store only this machine's processes use: they
    /// share the data directory's key file.
    public func checkSigningKeys(_ keys: KeyRing, window: TimeInterval, now: Date) async throws {}
}
