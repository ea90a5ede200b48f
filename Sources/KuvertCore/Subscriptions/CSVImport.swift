import Foundation

/// Imports addresses from a CSV file as *pending* subscriptions: each person
/// gets a confirmation mail and becomes a subscriber only by confirming. No
/// one is ever activated by an import, and erased addresses are refused.
///
/// Columns: `email`, then optionally `name` and `locale`. A first line without
/// an `@` is taken as a header.
public struct CSVImport: Sendable {
    /// What an import did, line by line.
    public struct Report: Sendable, Equatable {
        public var queued = 0
        public var alreadyPending = 0
        public var alreadyActive = 0
        /// Refused lines: number and reason.
        public var refused: [(line: Int, reason: String)] = []

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.queued == rhs.queued && lhs.alreadyPending == rhs.alreadyPending && lhs.alreadyActive == rhs.alreadyActive
                && lhs.refused.map(\.line) == rhs.refused.map(\.line) && lhs.refused.map(\.reason) == rhs.refused.map(\.reason)
        }
    }

    /// Confirmation mails per second an import queues unless told otherwise.
    public static let defaultRate: Double = 10

    private let store: any SubscriptionStore & PrivacyStore & ListStore
    private let suppression: SuppressionKey
    private let resendWindow: TimeInterval
    /// Confirmation mails per second the import queues.
    private let rate: Double

    public init(store: any SubscriptionStore & PrivacyStore & ListStore, suppression: SuppressionKey, resendWindow: TimeInterval, rate: Double) {
        self.store = store
        self.suppression = suppression
        self.resendWindow = resendWindow
        self.rate = rate
    }

    /// Imports `text` into the list `listSlug` for `actor` (`cli`, `api:NAME`):
    /// each new address gets a pending subscription whose consent ledger names
    /// the import as its source, and the import as a whole is audited.
    /// - Throws: `KuvertError.unknownList`; store errors.
    public func run(_ text: String, listSlug: String, actor: String, now: Date) async throws -> Report {
        let source = actor == "cli" ? "import" : "import \(actor)"
        _ = try await store.mailingList(slug: listSlug)
        var report = Report()
        var seen: [String: Int] = [:]
        for (index, fields) in Self.rows(text).enumerated() {
            let line = index + 1
            guard let email = fields.first?.trimmingCharacters(in: .whitespaces), !email.isEmpty else { continue }
            if line == 1 && !email.contains("@") { continue }
            let address: EmailAddress
            do {
                address = try EmailAddress(email)
            } catch {
                report.refused.append((line, error.description))
                continue
            }
            if let first = seen[address.key] {
                report.refused.append((line, "The same address as line \(first)."))
                continue
            }
            seen[address.key] = line
            var erased = false
            for hash in suppression.hashes(address) where try await store.isSuppressed(hash) {
                erased = true
                break
            }
            if erased {
                report.refused.append((line, "Erased at the person's request: only their own sign-up can bring it back."))
                continue
            }
            let name: String?
            do {
                name = try SubscriptionIntake.validName(fields.count > 1 ? fields[1] : nil)
            } catch {
                report.refused.append((line, "\(error)"))
                continue
            }
            var request = SubscriptionRequest(
                address: address, listSlug: listSlug, name: name,
                language: fields.count > 2 ? Language(tag: fields[2].trimmingCharacters(in: .whitespaces)) : nil,
                origin: RequestOrigin(ip: nil, userAgent: nil, source: source), actor: actor)
            request.confirmationDueAt = now.addingTimeInterval(Double(report.queued) / rate)
            switch try await store.subscribe(request, resendWindow: resendWindow, now: now) {
            case .confirmationQueued: report.queued += 1
            case .alreadyPending: report.alreadyPending += 1
            case .alreadyActive: report.alreadyActive += 1
            }
        }
        _ = try await store.recordAudit(
            AuditEvent(occurredAt: now, actor: actor, action: "subscribers.imported",
                       detail: "\(report.queued) queued, \(report.refused.count) refused"),
            address: nil)
        return report
    }

    /// RFC 4180 rows: commas, quoted fields with `""` for a quote, CRLF or LF.
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n", "\r":
                row.append(field); rows.append(row); row = []; field = ""
            default: field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
