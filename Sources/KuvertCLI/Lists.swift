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
                return
            }
            guard !summaries.isEmpty else {
                print("No lists yet. Create one with: kuvert lists add SLUG --name NAME --terms FILE")
                return
            }
            var rows = [["SLUG", "NAME", "LANG", "TERMS", "PENDING", "ACTIVE", "UNSUBSCRIBED", "BOUNCED"]]
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
            abstract: "Publish a new version of a list's terms; confirmations from now on accept it."
        )

        @Argument(help: "The list's slug.")
        var slug: String

        @Option(help: "Markdown file with the new terms, in the list's language.")
        var file: String

        @Option(help: ArgumentHelp("The new terms in another language: LOCALE=FILE; repeat for more.", valueName: "LOCALE=FILE"))
        var translation: [String] = []

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let body = try TextFile.read(file, as: "terms file")
            let store = runtime.store
            let own = try await store.mailingList(slug: slug).language
            let translations = try TermsTranslations.read(try TermsTranslations.parse(translation, own: own))
            let version = try await store.publishTerms(listSlug: slug, body: body, translations: translations, actor: "cli", now: Date())
            print("Published terms v\(version.version) for \(slug) (sha256 \(version.sha256)).")
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
