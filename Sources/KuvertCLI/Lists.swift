import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert lists`: create lists, publish terms, show them.
struct Lists: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create lists, publish new terms versions, and show lists with their counts.",
        subcommands: [Show.self, Add.self, Edit.self, Terms.self],
        defaultSubcommand: Show.self
    )

    struct Show: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show every list with its terms version and subscription counts; with a slug, one list's terms versions and who accepted which."
        )

        @Argument(help: "One list's slug: its terms versions, each with the active subscriptions that accepted it.") var slug: String?
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let summaries = try await runtime.store.listSummaries()
            if let slug {
                guard let summary = summaries.first(where: { $0.list.slug == slug }) else { throw KuvertError.unknownList(slug) }
                print("List \(summary.list.slug) (\(summary.list.name)), \(summary.list.language.rawValue), terms v\(summary.termsVersion)")
                if let description = summary.list.description { print(description) }
                print(SubscriptionStatus.allCases.map { "\($0.rawValue) \(summary.counts[$0] ?? 0)" }.joined(separator: ", "))
                print("")
                var rows = [["TERMS", "PUBLISHED", "ACTIVE, ACCEPTED IT"]]
                for version in (1...max(summary.termsVersion, 1)).reversed() {
                    let published = try await runtime.store.publishedTerms(listSlug: slug, version: version)
                    rows.append(["v\(version)", published?.terms.publishedAt.cliText ?? "-", String(summary.accepted[version] ?? 0)])
                }
                print(Table.render(rows))
                if let change = try await runtime.store.latestTermsChange(listSlug: slug, now: Date()) {
                    print("")
                    print(Lists.describe(change))
                }
                return
            }
            guard !summaries.isEmpty else {
                print("No lists yet. Create one with: kuvert lists add SLUG --name NAME --terms FILE")
                return
            }
            var rows = [["SLUG", "NAME", "LANG", "TERMS"] + SubscriptionStatus.allCases.map { $0.rawValue.uppercased() }]
            for summary in summaries {
                rows.append(
                    [
                        summary.list.slug, summary.list.name, summary.list.language.rawValue, "v\(summary.termsVersion)",
                    ] + SubscriptionStatus.allCases.map { String(summary.counts[$0] ?? 0) }
                )
            }
            print(Table.render(rows))
        }
    }

    /// A notice or re-consent and how far it got, in a few lines.
    static func describe(_ progress: TermsChangeProgress) -> String {
        let change = progress.change
        let state = change.closedAt.map { "closed \($0.cliText)" } ?? "open"
        var lines = [
            change.kind == .notice
                ? "Notice of terms v\(change.version) (was v\(change.previousVersion)), opened \(change.createdAt.cliText), \(state)"
                : "Re-consent to terms v\(change.version) (was v\(change.previousVersion)), opened \(change.createdAt.cliText), \(state)"
        ]
        lines.append("  mailed \(progress.mailed), waiting \(progress.waiting), not sent \(progress.notSent)")
        if change.kind == .reconsent {
            lines.append("  accepted \(progress.accepted), reminded \(progress.reminded), lapsed \(progress.lapsed)")
            let reminder = change.remindedAt.map { "sent \($0.cliText)" } ?? (change.reminderAt.map { "due \($0.cliText)" } ?? "-")
            lines.append("  reminder \(reminder), deadline \(change.deadline?.cliText ?? "-")")
        }
        return lines.joined(separator: "\n")
    }

    struct Add: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a list with its first terms and privacy notice.",
            discussion: "The first list created is the default for forms that name no list."
        )

        @Argument(help: "Short name used in forms: lower-case letters, digits and hyphens.")
        var slug: String

        @Option(help: "The list's name as people see it.")
        var name: String

        @Option(help: "Markdown file with the terms and privacy notice people accept, in the list's language (--locale).")
        var terms: String

        @Option(help: ArgumentHelp("The terms in another language: LOCALE=FILE, such as sv=villkor.md; repeat for more.", valueName: "LOCALE=FILE"))
        var translation: [String] = []

        @Option(help: "Sender for this list's mail, such as 'News <news@example.se>' (default KUVERT_FROM).")
        var from: String?

        @Option(name: .customLong("thanks-url"), help: "Page a form post is redirected to after subscribing.")
        var thanksURL: String?

        @Option(help: "Language when neither the subscriber nor the browser says: sv or en.")
        var locale: String = "en"

        @Option(help: "What the list sends, in a sentence or two, shown on each person's manage page.")
        var description: String?

        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard MailingList.isValidSlug(slug) else { throw ValidationError(KuvertError.invalidSlug(slug).description) }
            guard let own = Language(rawValue: locale) else { throw ValidationError("--locale must be sv or en.") }
            _ = try TermsTranslations.parse(translation, own: own)
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard MailingList.isValidName(trimmed) else {
                throw ValidationError("--name must be 1 to 200 characters on one line, without control characters.")
            }
            if let from, from.unicodeScalars.contains(where: \.breaksOneLineText) {
                throw ValidationError("--from must be on one line, without control characters.")
            }
            if let thanksURL {
                guard let url = URL(string: thanksURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                    throw ValidationError("--thanks-url must be an http or https address.")
                }
            }
            try Self.validate(description: description)
        }

        static func validate(description: String?) throws {
            if let description, !MailingList.isValidDescription(description) {
                throw ValidationError("--description must be at most 500 characters, without control characters.")
            }
        }

        func run(with runtime: Runtime) async throws {
            let text = try TextFile.read(terms, as: "terms file")
            let language = Language(rawValue: locale) ?? .en
            let translations = try TermsTranslations.read(try TermsTranslations.parse(translation, own: language))
            let list = MailingList(
                slug: slug,
                name: name.trimmingCharacters(in: .whitespaces),
                fromAddress: from,
                thanksURL: thanksURL,
                language: language,
                createdAt: Date(),
                description: description.flatMap { $0.isEmpty ? nil : $0 }
            )
            _ = try await runtime.store.createList(list, terms: text, translations: translations, actor: "cli")
            print("Created list \(slug) with terms v1.")
        }
    }

    struct Edit: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a list's name, sender, thanks page, language or description; terms change with 'lists terms'."
        )

        @Argument(help: "The list's slug.") var slug: String
        @Option(help: "The list's name as people see it.") var name: String?
        @Option(help: "Sender for this list's mail; '' for KUVERT_FROM.") var from: String?
        @Option(name: .customLong("thanks-url"), help: "Page a form post is redirected to; '' for Kuvert's own page.") var thanksURL: String?
        @Option(help: "Language when neither the subscriber nor the browser says: sv or en.") var locale: String?
        @Option(help: "What the list sends, shown on the manage page; '' for none.") var description: String?
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard name != nil || from != nil || thanksURL != nil || locale != nil || description != nil else {
                throw ValidationError("Give at least one of --name, --from, --thanks-url, --locale, --description.")
            }
            try Add.validate(description: description)
            if let name {
                guard MailingList.isValidName(name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--name must be 1 to 200 characters on one line, without control characters.")
                }
            }
            if let locale { guard Language(rawValue: locale) != nil else { throw ValidationError("--locale must be sv or en.") } }
            if let from, from.unicodeScalars.contains(where: \.breaksOneLineText) {
                throw ValidationError("--from must be on one line, without control characters.")
            }
            if let thanksURL, !thanksURL.isEmpty {
                guard let url = URL(string: thanksURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                    throw ValidationError("--thanks-url must be an http or https address, or '' for none.")
                }
            }
        }

        func run(with runtime: Runtime) async throws {
            let edit = ListEdit(
                name: name?.trimmingCharacters(in: .whitespaces),
                fromAddress: from,
                thanksURL: thanksURL,
                language: locale.flatMap(Language.init(rawValue:)),
                description: description
            )
            _ = try await runtime.store.editList(slug: slug, edit, actor: "cli", now: Date())
            print("List \(slug) changed: \(edit.fields.joined(separator: ", ")).")
        }
    }

    struct Terms: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a new version of a list's terms; confirmations from now on accept it.",
            discussion: """
                With --notice every active subscriber is told (the summary, links to the old and new text); with
                --reconsent every active subscriber is asked to accept the new version by the deadline, reminded once at
                half of it, and those who did not accept end as lapsed. 'kuvert lists show SLUG' shows the progress.
                """
        )

        @Argument(help: "The list's slug.")
        var slug: String

        @Option(help: "Markdown file with the new terms, in the list's language.")
        var file: String

        @Option(help: ArgumentHelp("The new terms in another language: LOCALE=FILE; repeat for more.", valueName: "LOCALE=FILE"))
        var translation: [String] = []

        @Option(help: "Markdown file saying what changed, for the notice or re-consent mail.")
        var summary: String?

        @Flag(help: "Tell every active subscriber of the change.")
        var notice = false

        @Flag(help: "Ask every active subscriber to accept the new terms by the deadline.")
        var reconsent = false

        @Option(help: "How long people have to accept a re-consent: 30d, 12h, 90s ... (default 30d).")
        var deadline: String?

        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            if notice && reconsent { throw ValidationError("--notice and --reconsent exclude each other: a change is told or asked again.") }
            if deadline != nil && !reconsent { throw ValidationError("--deadline goes with --reconsent.") }
            if summary != nil && !notice && !reconsent {
                throw ValidationError("--summary goes with --notice or --reconsent: nobody is mailed otherwise.")
            }
            if let deadline { _ = try Self.deadline(deadline) }
        }

        static func deadline(_ text: String) throws -> TimeInterval {
            do {
                return try SettingSource.duration(text, name: "--deadline")
            } catch {
                throw ValidationError("--deadline \(text.debugDescription) is no duration: use a number with s, m, h or d, such as 30d.")
            }
        }

        func run(with runtime: Runtime) async throws {
            let body = try TextFile.read(file, as: "terms file")
            let summaryText = try summary.map { try TextFile.read($0, as: "summary file") }
            let store = runtime.store
            let own = try await store.mailingList(slug: slug).language
            let translations = try TermsTranslations.read(try TermsTranslations.parse(translation, own: own))
            guard notice || reconsent else {
                let version = try await store.publishTerms(listSlug: slug, body: body, translations: translations, actor: "cli", now: Date())
                print("Published terms v\(version.version) for \(slug) (sha256 \(version.sha256)).")
                return
            }
            let request = TermsChangeRequest(
                kind: notice ? .notice : .reconsent,
                summary: summaryText,
                deadline: try deadline.map(Self.deadline)
            )
            let progress = try await store.changeTerms(
                listSlug: slug,
                body: body,
                translations: translations,
                request,
                actor: "cli",
                now: Date(),
                batchSize: 10_000
            )
            let change = progress.change
            print("Published terms v\(change.version) for \(slug).")
            print(
                change.kind == .notice
                    ? "Queued \(progress.waiting) notices."
                    : "Queued \(progress.waiting) requests to accept it by \(change.deadline?.cliText ?? "-"); a reminder goes at \(change.reminderAt?.cliText ?? "-")."
            )
            print("Follow it with: kuvert lists show \(slug)")
        }
    }
}

/// `--translation LOCALE=FILE` options: one text per language besides the list's own.
enum TermsTranslations {
    /// The files by language.
    /// - Throws: `ValidationError` for a malformed option, an unknown or repeated
    ///   language, or the list's own (whose text is the terms file itself).
    static func parse(_ options: [String], own: Language) throws -> [Language: String] {
        var files: [Language: String] = [:]
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty, let language = Language(rawValue: parts[0]) else {
                throw ValidationError("--translation takes LOCALE=FILE with LOCALE sv or en, not '\(option)'.")
            }
            guard language != own else {
                throw ValidationError("--translation \(language.rawValue): that is the list's own language, whose text is the terms file.")
            }
            guard files.updateValue(parts[1], forKey: language) == nil else {
                throw ValidationError("--translation names \(language.rawValue) twice.")
            }
        }
        return files
    }

    static func read(_ files: [Language: String]) throws -> [Language: String] {
        try files.mapValues { try TextFile.read($0, as: "terms file") }
    }
}
