import Crypto
import Foundation

/// The keys that sign links: from `KUVERT_SECRET` (comma-separated, the first
/// signs), or from a key file in the data directory that is created with mode
/// 0600 on first start.
///
/// The key file holds one base64 key per line; the first signs and the others
/// still verify, which is how a key is rotated.
public enum SecretKeys {
    /// The file name inside the data directory.
    public static let fileName = "secret.key"

    /// The signing key first, then older keys.
    /// - Throws: `KuvertError.configuration` when the secret is too short or the
    ///   key file cannot be read or created.
    public static func load(_ storage: StorageSettings) throws -> [SymmetricKey] {
        if let secret = storage.secret {
            // Several secrets, comma-separated: the first signs, the others still verify.
            let secrets = secret.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !secrets.isEmpty, secrets.allSatisfy({ $0.utf8.count >= 32 }) else {
                throw KuvertError.configuration("Each secret in KUVERT_SECRET must be at least 32 characters long.")
            }
            return secrets.map { SymmetricKey(data: Data($0.utf8)) }
        }
        try DataDirectory.prepare(storage.dataDirectory)
        let path = storage.dataDirectory + "/" + fileName
        if !FileManager.default.fileExists(atPath: path) {
            try create(at: path)
        }
        return try read(at: path)
    }

    private static func read(at path: String) throws -> [SymmetricKey] {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw KuvertError.configuration(
                String(
                    format: "The key file %@ can be read by others (mode %o): run chmod 600 %@.",
                    path,
                    info.st_mode & 0o777,
                    path
                )
            )
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KuvertError.configuration("Cannot read the key file \(path).")
        }
        let keys = text.split(whereSeparator: \.isNewline).compactMap { line -> SymmetricKey? in
            guard let data = Data(base64Encoded: line.trimmingCharacters(in: .whitespaces)), data.count >= 32 else {
                return nil
            }
            return SymmetricKey(data: data)
        }
        guard !keys.isEmpty, keys.count == text.split(whereSeparator: \.isNewline).count else {
            throw KuvertError.configuration("The key file \(path) must hold one base64 key of 32 bytes or more per line.")
        }
        return keys
    }

    /// Writes a new random key to a private temporary file and links it into
    /// place, so two processes starting at once agree on one key.
    private static func create(at path: String) throws {
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let temporary = path + ".\(UUID().uuidString).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw KuvertError.configuration("Cannot create the key file in \(path): \(String(cString: strerror(errno))).")
        }
        defer { unlink(temporary) }
        let line = Array((key.base64EncodedString() + "\n").utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == line.count, synced == 0 else {
            throw KuvertError.configuration("Cannot write the key file \(path).")
        }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw KuvertError.configuration("Cannot create the key file \(path): \(String(cString: strerror(errno))).")
        }
    }
}
