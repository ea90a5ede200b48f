import Foundation

/// Imports addresses from a CSV file as *pending* subscriptions: each person
/// gets a confirmation mail and becomes a subscriber only by confirming. No
/// one is ever activated by an import, and erased addresses are refused.
///
/// Columns: `email`, then optionally `name` and `locale`; or, with a header
/// line (a first line without an `@`), the columns it names, in any order,
/// under the names mailing programs and spreadsheets use (`Email Address`,
/// `E-post`, `First Name` and `Last Name`, `Namn`, `Språk` …). The separator is
/// found from the first line (`;`, as Swedish Excel writes, `,` or a tab), and
/// a byte order mark is dropped.
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
        let rows = Self.rows(text)
        var columns = Columns.positional
        if let first = rows.first, !first.contains(where: { $0.contains("@") }) {
            // Without an address column no line can be read for sure: the
            // header is the one refusal, and nothing is imported.
            guard let named = Columns(header: first) else {
                report.refused.append((1, Columns.noAddressColumn))
                return report
            }
            columns = named
        }
        for (index, row) in rows.enumerated() {
            let line = index + 1
            if line == 1 && columns != .positional { continue }
            let fields = columns.fields(of: row)
            guard let email = fields.email?.trimmingCharacters(in: .whitespaces), !email.isEmpty else { continue }
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
                name = try SubscriptionIntake.validName(fields.name)
            } catch {
                report.refused.append((line, "\(error)"))
                continue
            }
            var language: Language?
            if let tag = fields.locale?.trimmingCharacters(in: .whitespaces), !tag.isEmpty {
                guard let known = Language(tag: tag) else {
                    report.refused.append((line, "The locale '\(tag.prefix(20))' is none Kuvert speaks: sv or en (or leave it empty)."))
                    continue
                }
                language = known
            }
            var request = SubscriptionRequest(
                address: address,
                listSlug: listSlug,
                name: name,
                language: language,
                origin: RequestOrigin(ip: nil, userAgent: nil, source: source),
                actor: actor
            )
            request.confirmationDueAt = now.addingTimeInterval(Double(report.queued) / rate)
            switch try await store.subscribe(request, resendWindow: resendWindow, now: now) {
            case .confirmationQueued: report.queued += 1
            case .alreadyPending: report.alreadyPending += 1
            case .alreadyActive: report.alreadyActive += 1
            }
        }
        _ = try await store.recordAudit(
            AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "subscribers.imported",
                detail: "\(report.queued) queued, \(report.refused.count) refused"
            ),
            address: nil
        )
        return report
    }

    /// Which column holds what.
    enum Columns: Equatable {
        /// No header: email, name, locale.
        case positional
        case named(email: Int, name: Int?, firstName: Int?, lastName: Int?, locale: Int?)

        /// Header names, compared in lower case without spaces, hyphens or underscores.
        static let emailNames: Set = ["email", "emailaddress", "mail", "epost", "epostadress", "mailadress", "adress"]
        static let nameNames: Set = ["name", "namn", "fullname", "fullständigtnamn", "displayname"]
        static let firstNames: Set = ["firstname", "förnamn", "givenname", "fname"]
        static let lastNames: Set = ["lastname", "efternamn", "surname", "familyname", "lname"]
        static let localeNames: Set = ["locale", "language", "lang", "språk"]

        static let noAddressColumn =
            "The header line names no address column: name it email (or E-post, Email Address), "
            + "or leave the header out and put the address first. Nothing was imported."

        /// The columns a header names; nil when none holds the address.
        init?(header: [String]) {
            let names = header.map { $0.lowercased().filter { !" -_.".contains($0) } }
            func find(_ wanted: Set<String>) -> Int? { names.firstIndex(where: wanted.contains) }
            guard let email = find(Self.emailNames) else { return nil }
            self = .named(
                email: email,
                name: find(Self.nameNames),
                firstName: find(Self.firstNames),
                lastName: find(Self.lastNames),
                locale: find(Self.localeNames)
            )
        }

        /// A row's address, name (first and last joined when the name is in two
        /// columns) and locale.
        func fields(of row: [String]) -> (email: String?, name: String?, locale: String?) {
            func cell(_ index: Int?) -> String? { index.flatMap { $0 < row.count ? row[$0] : nil } }
            switch self {
            case .positional:
                return (cell(0), cell(1), cell(2))
            case .named(let email, let name, let firstName, let lastName, let locale):
                let joined = [cell(firstName), cell(lastName)].compactMap { $0?.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }.joined(separator: " ")
                return (cell(email), cell(name) ?? (joined.isEmpty ? nil : joined), cell(locale))
            }
        }
    }

    /// The text of an imported file: UTF-8, or Windows-1252 for what older
    /// Excel saves as "CSV"; nil for neither.
    public static func text(of data: Data) -> String? {
        String(data: data, encoding: .utf8) ?? String(data: data, encoding: .windowsCP1252)
    }

    /// The separator of a CSV text: whichever of `;`, `,` and tab its first
    /// line holds most of outside quotes (a comma when none).
    static func separator(of text: Substring) -> Character {
        var counts: [Character: Int] = [";": 0, ",": 0, "\t": 0]
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if quoted { continue }
            if character.isNewline { break }
            if counts[character] != nil { counts[character, default: 0] += 1 }
        }
        // Ties go to the comma.
        guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key != ",") }), best.value > 0
        else { return "," }
        return best.key
    }

    /// RFC 4180 rows: quoted fields with `""` for a quote, CRLF or LF; the
    /// separator found from the first line; a byte order mark dropped.
    static func rows(_ input: String) -> [[String]] {
        let text = input.first == "\u{FEFF}" ? input.dropFirst() : Substring(input)
        let separator = separator(of: text)
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
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case separator:
                row.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
