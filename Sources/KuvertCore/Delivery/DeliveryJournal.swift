import Foundation

/// Delivery records written beside the SQLite store the moment each message
/// is sent, and put in the store a batch at a time.
///
/// A session must have a message on record before the next one can be complete
/// at the server, or a crash could send more than one message of it twice. The
/// store's own record is a transaction per message; an append to this file is
/// one `write`, which survives a crash of the process just as a commit with
/// `synchronous = NORMAL` does (and like it, not a power cut). So a session
/// appends each record here, sends on, and at the end of its batch writes the
/// batch's records to the store in one transaction and empties its file.
///
/// After a crash, whoever next runs a mailer on the store (at start, and every
/// half minute while running) applies the files of holders that are provably
/// gone, before it takes their claims back. A record is applied only while its
/// message is still leased by the file's holder, so applying one twice changes
/// nothing. Only for a store on this machine's disk: a journal must share the
/// fate of the store it stands in for.
public struct DeliveryJournal: Sendable {
    /// Where the session files are: beside the store, one per session.
    public let directory: String

    static let magic = "kuvert delivery journal 1"

    public init(directory: String) {
        self.directory = directory
    }

    /// A new, empty file for one session of `holder`.
    func open(holder: LeaseHolder, session: Int) throws -> File {
        try DataDirectory.prepare(directory)
        let name = "\(holder.pid)-\(holder.started)-\(session)-\(RandomHex.make().prefix(8)).journal"
        return try File(path: directory + "/" + name, header: Self.magic + "\t" + holder.description + "\n")
    }

    /// A journal a gone holder left behind.
    struct LeftBehind {
        var path: String
        var holder: LeaseHolder
        var entries: [DeliveryRecord.Entry]
    }

    /// The files of holders that are provably gone, as seen from `observer`,
    /// with their records. A file that cannot be read is reported in `unreadable`.
    func leftBehind(seenFrom observer: LeaseHolder) -> (journals: [LeftBehind], unreadable: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return ([], []) }
        var journals: [LeftBehind] = []
        var unreadable: [String] = []
        for name in names.sorted() where name.hasSuffix(".journal") {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path), let parsed = Self.parse(data) else {
                unreadable.append(path)
                continue
            }
            guard parsed.holder != observer, parsed.holder.isProvablyGone(seenFrom: observer) else { continue }
            journals.append(LeftBehind(path: path, holder: parsed.holder, entries: parsed.entries))
        }
        return (journals, unreadable)
    }

    /// The holder and records of a journal's bytes; nil when it is not one. A
    /// last line without its line feed was never finished and is left out.
    static func parse(_ data: Data) -> (holder: LeaseHolder, entries: [DeliveryRecord.Entry])? {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        // Everything up to the last line feed is whole.
        lines.removeLast()
        guard let first = lines.first, let header = String(bytes: first, encoding: .utf8) else { return nil }
        let parts = header.split(separator: "\t", maxSplits: 1)
        guard parts.count == 2, parts[0] == magic, let holder = LeaseHolder(String(parts[1])) else { return nil }
        let entries = lines.dropFirst().compactMap { Entry.decode(Array($0)) }
        return (holder, entries)
    }

    /// Deletes a journal whose records are in the store.
    func remove(_ path: String) {
        unlink(path)
    }

    /// One session's journal file, written by that session's thread only.
    final class File {
        let path: String
        private let descriptor: Int32
        private let headerLength: off_t
        private var line: [UInt8] = []

        /// Written under another name and renamed, so that a journal always has its header.
        init(path: String, header: String) throws {
            let draft = path + ".new"
            descriptor = Foundation.open(draft, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw Self.failure("create", draft) }
            self.path = path
            headerLength = off_t(header.utf8.count)
            do {
                try write(Array(header.utf8))
                guard rename(draft, path) == 0 else { throw Self.failure("name", path) }
            } catch {
                Foundation.close(descriptor)
                unlink(draft)
                throw error
            }
        }

        deinit {
            Foundation.close(descriptor)
        }

        /// Appends a record in one `write`.
        func append(_ entry: DeliveryRecord.Entry) throws {
            line.removeAll(keepingCapacity: true)
            Entry.encode(entry, into: &line)
            try write(line)
        }

        /// Empties the file after its records went into the store.
        func reset() throws {
            guard ftruncate(descriptor, headerLength) == 0 else { throw Self.failure("empty", path) }
        }

        /// Deletes the file, its records being in the store.
        func remove() {
            unlink(path)
        }

        private func write(_ bytes: [UInt8]) throws {
            let written = bytes.withUnsafeBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let count = Foundation.write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { return false }
                    done += count
                }
                return true
            }
            guard written else { throw Self.failure("write to", path) }
        }

        private static func failure(_ what: String, _ path: String) -> KuvertError {
            KuvertError.configuration("Cannot \(what) the delivery journal \(path): \(String(cString: strerror(errno))).")
        }
    }

    /// A record as one line: id, what became of it, the outcome's kind, reply
    /// code, time in milliseconds, retry time, and reply, separated by tabs.
    enum Entry {
        static func encode(_ entry: DeliveryRecord.Entry, into line: inout [UInt8]) {
            let (status, outcome, due): (UInt8, SendOutcome, Date?) =
                switch entry.record {
                case .sent(let outcome): (UInt8(ascii: "S"), outcome, nil)
                case .retry(let outcome, let at): (UInt8(ascii: "R"), outcome, at)
                case .failed(let outcome): (UInt8(ascii: "F"), outcome, nil)
                case .skipped(let reason): (UInt8(ascii: "K"), SendOutcome(kind: .permanent, code: nil, reply: reason), nil)
                }
            number(entry.id, into: &line)
            line.append(0x09)
            line.append(status)
            line.append(0x09)
            line.append(outcome.kind.rawValue.utf8.first!)
            line.append(0x09)
            if let code = outcome.code { number(Int64(code), into: &line) }
            line.append(0x09)
            number(milliseconds(entry.at), into: &line)
            line.append(0x09)
            if let due { number(milliseconds(due), into: &line) }
            line.append(0x09)
            // The store keeps 512 characters of a reply; tabs and line breaks escaped.
            for byte in outcome.reply.prefix(512).utf8 {
                switch byte {
                case 0x5C:
                    line.append(0x5C)
                    line.append(0x5C)
                case 0x09:
                    line.append(0x5C)
                    line.append(UInt8(ascii: "t"))
                case 0x0A:
                    line.append(0x5C)
                    line.append(UInt8(ascii: "n"))
                case 0x0D:
                    line.append(0x5C)
                    line.append(UInt8(ascii: "r"))
                default: line.append(byte)
                }
            }
            line.append(0x0A)
        }

        static func decode(_ line: [UInt8]) -> DeliveryRecord.Entry? {
            let fields = line.split(separator: 0x09, maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7, let id = Int64(text(fields[0])), let at = Int64(text(fields[4])),
                let kind = [SendOutcome.Kind.delivered, .transient, .permanent].first(where: {
                    fields[2].elementsEqual($0.rawValue.utf8.prefix(1))
                })
            else { return nil }
            let code = fields[3].isEmpty ? nil : Int(text(fields[3]))
            var reply: [UInt8] = []
            var escaped = false
            for byte in fields[6] {
                if escaped {
                    reply.append([UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D][byte] ?? byte)
                    escaped = false
                } else if byte == 0x5C {
                    escaped = true
                } else {
                    reply.append(byte)
                }
            }
            let outcome = SendOutcome(kind: kind, code: code, reply: String(decoding: reply, as: UTF8.self))
            let record: DeliveryRecord
            switch fields[1].first {
            case UInt8(ascii: "S"): record = .sent(outcome)
            case UInt8(ascii: "R"):
                guard let due = Int64(text(fields[5])) else { return nil }
                record = .retry(outcome, at: date(due))
            case UInt8(ascii: "F"): record = .failed(outcome)
            case UInt8(ascii: "K"): record = .skipped(reason: outcome.reply)
            default: return nil
            }
            return DeliveryRecord.Entry(id: id, record: record, at: date(at))
        }

        private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

        private static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

        private static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

        /// Decimal digits (a small string: no allocation).
        private static func number(_ value: Int64, into line: inout [UInt8]) {
            line.append(contentsOf: String(value).utf8)
        }
    }
}
