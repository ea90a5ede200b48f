import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert subscribers`: look at who subscribes and with what consent.
struct Subscribers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List subscriptions, or show one subscriber with their consent records.",
        subcommands: [
            ListAll.self, Show.self, Unsubscribe.self, Update.self, Restrict.self, Unrestrict.self, Export.self, Erase.self, Import.self,
        ],
        defaultSubcommand: ListAll.self
    )

    struct Import: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import addresses from a CSV file (email[,name[,locale]]) as pending subscriptions.",
            discussion:
                "Everyone gets a confirmation mail and becomes a subscriber only by confirming: an import never activates anyone. Invalid rows, duplicates and erased addresses are reported with their line numbers."
        )

        @Argument(help: "The CSV file.") var file: String
        @Option(help: "The list to import into.") var list: String
        @Option(help: "Confirmation mails per second to queue.") var rate: Double = CSVImport.defaultRate
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard rate > 0, rate.isFinite else { throw ValidationError("--rate must be a positive number.") }
        }

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure(message: "Cannot read \(file).") }
            guard let text = CSVImport.text(of: data) else {
                throw CommandFailure(message: "Cannot read \(file) as text (UTF-8 or Windows-1252).")
            }
            let importer = CSVImport(
                store: store,
                suppression: try runtime.keys().suppression,
                resendWindow: runtime.settings.subscriptions.resendWindow,
                rate: rate
            )
            let report = try await importer.run(text, listSlug: list, actor: "cli", now: Date())
            print(
                "Queued \(report.queued) confirmation mail\(report.queued == 1 ? "" : "s"); "
                    + "\(report.alreadyPending) already pending, \(report.alreadyActive) already subscribed, \(report.refused.count) refused."
            )
            for refusal in report.refused { print("line \(refusal.line): \(refusal.reason)") }
        }
    }

    /// The address argument, validated, or exit code 2.
    static func address(_ email: String) throws -> EmailAddress {
        do {
            return try EmailAddress(email)
        } catch {
            throw ValidationError("'\(email)' is not a valid address: \(error)")
        }
    }

    struct Export: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print everything held on an address as JSON: subscriptions, consent, messages, audit events."
        )

        @Argument(help: "The subscriber's email address.") var email: String
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            let store = runtime.store
            guard let export = try await store.export(address, now: Date()) else { throw KuvertError.unknownSubscriber }
            _ = try await store.recordAudit(AuditEvent(occurredAt: Date(), actor: "cli", action: "subscriber.exported"), address: address)
            FileHandle.standardOutput.write(try export.json() + Data("\n".utf8))
        }
    }

    struct Unsubscribe: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a person's subscriptions on a request they made elsewhere (a reply, a phone call).",
            discussion: "The consent ledger records 'withdrawn' with source 'editor'. Pending requests end too. Erasure is 'subscribers erase'."
        )

        @Argument(help: "The subscriber's email address.") var email: String
        @Option(help: "Only this list's subscription (every list when left out).") var list: String?
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            let store = runtime.store
            if let list { _ = try await store.mailingList(slug: list) }
            guard let record = try await store.subscriberRecord(address: address) else { throw KuvertError.unknownSubscriber }
            let ending = record.subscriptions.filter { entry in
                (list == nil || entry.list.slug == list) && [.active, .pending].contains(entry.subscription.status)
            }
            guard !ending.isEmpty else {
                throw CommandFailure(
                    message: "\(record.subscriber.address) has no active or pending subscription\(list.map { " to \($0)" } ?? "")."
                )
            }
            for entry in ending {
                guard let id = entry.subscription.id else { continue }
                _ = try await store.unsubscribe(subscriptionId: id, origin: .editor, now: Date())
            }
            print("Unsubscribed \(record.subscriber.address) from \(ending.map(\.list.slug).joined(separator: ", ")).")
        }
    }

    struct Update: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a person's name or language on every list (rectification).",
            discussion: "Audited as 'subscriber.rectified' and reported to the webhook as 'subscriber.updated', naming the fields, never a value."
        )

        @Argument(help: "The subscriber's email address.") var email: String
        @Option(help: "The corrected name; '' removes it.") var name: String?
        @Option(help: "The language for their mail and pages: sv or en.") var locale: String?
        @Option(
            name: .customLong("email"),
            help: "A new address: a link goes to it, and it is used once its owner confirms it."
        ) var newEmail: String?
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard name != nil || locale != nil || newEmail != nil else { throw ValidationError("Give --name, --locale or --email.") }
            if let newEmail { _ = try Subscribers.address(newEmail) }
            do {
                _ = try Rectification.validated(name: name, locale: locale)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            let change = try Rectification.validated(name: name, locale: locale)
            guard let subscriber = try await runtime.store.subscriber(address: address), let id = subscriber.id else {
                throw KuvertError.unknownSubscriber
            }
            if name != nil || locale != nil {
                let fields = try await runtime.store.rectify(subscriberId: id, change, actor: "cli", now: Date())
                print(
                    fields.isEmpty
                        ? "Nothing changed for \(subscriber.address)." : "Corrected \(fields.joined(separator: " and ")) of \(subscriber.address)."
                )
            }
            if let newEmail {
                let newAddress = try Subscribers.address(newEmail)
                try await runtime.store.requestAddressChange(subscriberId: id, to: newAddress, actor: "cli", now: Date())
                print("A confirmation link goes to \(newAddress.value); the address changes when its owner confirms it.")
            }
        }
    }

    struct Restrict: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restrict processing of a person's data at their request (GDPR Art. 18): nothing is mailed to them.",
            discussion:
                "Queued mail to them is skipped as 'restricted' and campaigns leave them out; nothing is deleted, and export and erasure still work. 'subscribers unrestrict' ends it."
        )

        @Argument(help: "The subscriber's email address.") var email: String
        @Option(help: "Why, for the record (at most 200 characters on one line).") var reason: String?
        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            do { _ = try Restriction.validReason(reason) } catch { throw ValidationError("\(error)") }
        }

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            guard let subscriber = try await runtime.store.subscriber(address: address), let id = subscriber.id else {
                throw KuvertError.unknownSubscriber
            }
            let reason = try Restriction.validReason(reason)
            let changed = try await runtime.store.restrict(subscriberId: id, .restricted(reason: reason), actor: "cli", now: Date())
            print(
                changed
                    ? "Restricted processing for \(subscriber.address): nothing is mailed to them." : "\(subscriber.address) is restricted already."
            )
        }
    }

    struct Unrestrict: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "End a restriction of processing: mail to the person goes again.")

        @Argument(help: "The subscriber's email address.") var email: String
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            guard let subscriber = try await runtime.store.subscriber(address: address), let id = subscriber.id else {
                throw KuvertError.unknownSubscriber
            }
            let changed = try await runtime.store.restrict(subscriberId: id, .lifted, actor: "cli", now: Date())
            print(changed ? "Processing for \(subscriber.address) is no longer restricted." : "\(subscriber.address) was not restricted.")
        }
    }

    struct Erase: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Erase a person: address, name and network data go, in one transaction (also from SQLite's file; see the README for PostgreSQL).",
            discussion:
                "What proves consent and delivery stays without personal data. A keyed hash of the address is kept so that an import cannot bring it back; only the person's own new double opt-in can."
        )

        @Argument(help: "The subscriber's email address.") var email: String
        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            let suppression = try runtime.keys().suppression
            guard try await runtime.store.erase(address, suppressionHash: suppression.hash(address), actor: "cli", now: Date()) else {
                throw KuvertError.unknownSubscriber
            }
            print("Erased \(address.value).")
        }
    }

    struct ListAll: StoreCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List subscriptions, optionally of one list or status."
        )

        @Option(help: "Only this list's subscriptions.")
        var list: String?

        @Option(help: "Only subscriptions in this status: pending, active, unsubscribed, bounced or lapsed.")
        var status: SubscriptionStatus?

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let store = runtime.store
            let listings = try await store.subscriptions(listSlug: list, status: status)
            var rows = [["ADDRESS", "LIST", "STATUS", "REQUESTED", "CONFIRMED"]]
            for listing in listings {
                rows.append([
                    listing.address, listing.listSlug, listing.status.rawValue, listing.requestedAt.cliText,
                    listing.confirmedAt?.cliText ?? "-",
                ])
            }
            print(Table.render(rows))
            print("\(listings.count) subscription\(listings.count == 1 ? "" : "s")")
        }
    }

    struct Show: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a subscriber's subscriptions and the consent ledger behind each."
        )

        @Argument(help: "The subscriber's email address.")
        var email: String

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let address = try Subscribers.address(email)
            let store = runtime.store
            guard let record = try await store.subscriberRecord(address: address) else {
                throw KuvertError.unknownSubscriber
            }
            print("Subscriber \(record.subscriber.address), known since \(record.subscriber.createdAt.cliText)")
            if let since = record.subscriber.restrictedAt {
                print(
                    "Processing restricted since \(since.cliText)"
                        + (record.subscriber.restrictionReason.map { ": \($0)" } ?? "") + " (nothing is mailed to them)"
                )
            }
            for entry in record.subscriptions {
                let subscription = entry.subscription
                print("")
                print("List \(entry.list.slug) (\(entry.list.name)): \(subscription.status.rawValue)")
                print("  language \(subscription.language.rawValue), name \(subscription.name ?? "-")")
                print(
                    "  requested \(subscription.requestedAt.cliText)"
                        + (subscription.confirmedAt.map { ", confirmed \($0.cliText)" } ?? "")
                )
                print("  consent:")
                for event in entry.consent {
                    var line = "    \(event.occurredAt.cliText) \(event.kind.rawValue) via \(event.source)"
                    if let id = event.termsVersionId {
                        // A notice and a lapse name a version; only an acceptance has the hash of the text shown.
                        line += ", terms v\(entry.termsVersions[id].map(String.init) ?? "?")" + (event.termsSHA256.map { " sha256 \($0)" } ?? "")
                    }
                    line += ", ip \(event.ip ?? "-"), user agent \(event.userAgent.map { "\"\($0)\"" } ?? "-")"
                    print(line)
                }
                if !entry.bounces.isEmpty {
                    print("  bounces:")
                    for event in entry.bounces { print("    " + event.cliLine) }
                }
            }
        }
    }
}

extension SubscriptionStatus: ExpressibleByArgument {}
