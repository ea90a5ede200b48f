import Foundation
import KuvertCore

/// An exclusive lock across processes on one machine (`flock(2)` on a file of
/// its own), held while a store is migrated: two processes that start at once
/// on a new SQLite file would otherwise both find it empty and both create the
/// tables, and the second would fail.
enum MigrationLock {
    /// Runs `work` while holding the lock on `path`, waiting for it if another process holds it.
    static func holding<T>(_ path: String, _ work: () throws -> T) throws -> T {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw KuvertError.configuration("Cannot open the migration lock \(path): \(String(cString: strerror(errno))).")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw KuvertError.configuration("Cannot lock \(path): \(String(cString: strerror(errno))).")
            }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try work()
    }
}
