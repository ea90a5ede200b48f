import Foundation

/// The DKIM keys in `$KUVERT_DATA_DIR/dkim/`: one folder per domain, one file
/// per key, `SELECTOR.rsa.pem` or `SELECTOR.ed25519.pem`, PKCS#8, mode 0600.
public struct DKIMKeyDirectory: Sendable {
    /// A key and when its file was made.
    public struct Entry: Sendable {
        public var key: DKIMKey
        public var created: Date
        public var path: String
    }

    public let path: String

    public init(dataDirectory: String) {
        path = dataDirectory + "/dkim"
    }

    /// Makes a key and writes it, never over an existing one.
    /// - Throws: `KuvertError.configuration` for a domain or selector that is
    ///   no DNS name, a key that exists, or a file that cannot be written.
    public func generate(domain: String, selector: String, algorithm: DKIMKey.Algorithm) throws -> Entry {
        let domain = try Self.domain(domain)
        let selector = try Self.selector(selector)
        let folder = path + "/" + domain
        for directory in [path, folder] {
            try DataDirectory.prepare(directory)
        }
        let file = folder + "/\(selector).\(algorithm.rawValue).pem"
        if FileManager.default.fileExists(atPath: file) {
            throw KuvertError.configuration(
                "A \(algorithm.rawValue) key for \(selector)._domainkey.\(domain) exists (\(file)); it is never overwritten."
            )
        }
        // One DNS name holds one key: a second algorithm needs a selector of its own.
        for other in DKIMKey.Algorithm.allCases
        where other != algorithm
            && FileManager.default.fileExists(atPath: folder + "/\(selector).\(other.rawValue).pem")
        {
            throw KuvertError.configuration(
                "The selector \(selector) of \(domain) holds an \(other.rawValue) key; an \(algorithm.rawValue) key needs a selector of its own (--selector \(selector)-\(algorithm.rawValue))."
            )
        }
        let key = try DKIMKey.generate(domain: domain, selector: selector, algorithm: algorithm)
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw KuvertError.configuration("Cannot create the key file \(file): \(String(cString: strerror(errno))).")
        }
        let bytes = Array(key.pem.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            unlink(file)
            throw KuvertError.configuration("Cannot write the key file \(file).")
        }
        return Entry(key: key, created: Date(), path: file)
    }

    /// Every key, by domain, oldest first; none when the folder does not exist.
    /// - Throws: `KuvertError.configuration` for a key file others may read, or
    ///   one that does not parse, naming the file.
    public func load() throws -> [Entry] {
        let manager = FileManager.default
        guard let domains = try? manager.contentsOfDirectory(atPath: path) else { return [] }
        var entries: [Entry] = []
        for domain in domains.sorted() {
            let folder = path + "/" + domain
            guard let files = try? manager.contentsOfDirectory(atPath: folder) else { continue }
            for name in files.sorted() where name.hasSuffix(".pem") {
                let parts = name.dropLast(4).split(separator: ".")
                guard parts.count >= 2, let algorithm = DKIMKey.Algorithm(rawValue: String(parts.last!)) else { continue }
                let file = folder + "/" + name
                var info = stat()
                guard stat(file, &info) == 0 else { continue }
                if info.st_mode & 0o077 != 0 {
                    throw KuvertError.configuration(
                        String(
                            format: "The DKIM key %@ can be read by others (mode %o): run chmod 600 %@.",
                            file,
                            info.st_mode & 0o777,
                            file
                        )
                    )
                }
                guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw KuvertError.configuration("Cannot read the DKIM key \(file).")
                }
                let selector = parts.dropLast().joined(separator: ".")
                do {
                    let key = try DKIMKey(domain: domain, selector: selector, algorithm: algorithm, pem: pem)
                    let created = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
                    entries.append(Entry(key: key, created: created, path: file))
                } catch {
                    throw KuvertError.configuration("The DKIM key \(file) is no \(algorithm.rawValue) private key in PEM: \(error).")
                }
            }
        }
        return entries.sorted {
            ($0.key.domain, $0.key.algorithm.order, $0.created, $0.key.selector)
                < ($1.key.domain, $1.key.algorithm.order, $1.created, $1.key.selector)
        }
    }

    /// The domain as DKIM names it: lower case, internationalised labels as `xn--`.
    public static func domain(_ text: String) throws -> String {
        guard let domain = try? EmailAddress("postmaster@" + text).domain, domain.contains(".") else {
            throw KuvertError.configuration("'\(SettingSource.shown(text))' is no domain name such as example.se.")
        }
        return domain
    }

    /// A selector: one or more DNS labels of letters, digits and inner hyphens.
    public static func selector(_ text: String) throws -> String {
        guard SettingSource.isHostName(text) else {
            throw KuvertError.configuration(
                "'\(SettingSource.shown(text))' is no selector: use letters, digits and hyphens, such as kuvert or news2026."
            )
        }
        return text.lowercased()
    }
}
