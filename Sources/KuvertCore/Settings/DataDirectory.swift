import Crypto
import Foundation

/// The data directory: created private (0700) when missing.
public enum DataDirectory {
    /// Creates the directory with mode 0700 if it does not exist, and checks
    /// that this process may write in it.
    /// - Throws: `KuvertError.configuration` when it cannot be created or written.
    public static func prepare(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw KuvertError.configuration("The data directory \(path) is a file, not a directory.")
            }
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o022 != 0 {
                throw KuvertError.configuration(
                    String(
                        format: "The data directory %@ can be written by others (mode %o): run chmod 700 %@.",
                        path,
                        info.st_mode & 0o777,
                        path
                    )
                )
            }
            guard access(path, W_OK | X_OK) == 0 else {
                throw KuvertError.configuration(
                    "The data directory \(path) is not writable by this user (uid \(getuid())): \(String(cString: strerror(errno)))."
                )
            }
            return
        }
        // mkdir -p, one level at a time, so the error names the real cause (errno), not Foundation's paraphrase.
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            guard mkdir(built, 0o700) == 0 || errno == EEXIST else {
                throw KuvertError.configuration(
                    "Cannot create the data directory \(path)" + (built == path ? "" : " (at \(built))")
                        + ": \(String(cString: strerror(errno)))."
                )
            }
        }
    }
}
