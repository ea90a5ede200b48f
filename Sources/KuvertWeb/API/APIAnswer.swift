import Foundation
import KuvertCore

/// The API's JSON answers, as `Templates/api/openapi.json` describes them.
/// Absent optional values are left out (not `null`).
enum APIAnswer {
    struct Lists: Encodable {
        var lists: [List]
    }

    struct List: Encodable {
        var slug: String
        var name: String
        var language: String
        var termsVersion: Int
        /// Subscriptions by status, every status present.
        var counts: [String: Int]
        /// Active subscriptions by the terms version they accepted, oldest version first.
        var acceptance: [Acceptance]

        struct Acceptance: Encodable {
            var version: Int
            var active: Int
        }

        init(_ summary: ListSummary) {
            slug = summary.list.slug
            name = summary.list.name
            language = summary.list.language.rawValue
            termsVersion = summary.termsVersion
            counts = Dictionary(uniqueKeysWithValues: SubscriptionStatus.allCases.map { ($0.rawValue, summary.counts[$0] ?? 0) })
            acceptance = summary.accepted.sorted { $0.key < $1.key }.map { Acceptance(version: $0.key, active: $0.value) }
        }
    }

    struct Subscriber: Encodable {
        struct Subscription: Encodable {
            var list: String
            var status: String
            var name: String?
            var language: String
            var requestedAt: Date
            var confirmedAt: Date?
            var endedAt: Date?
        }

        var email: String
        var knownSince: Date
        /// Whether processing is restricted: nothing is mailed to the person.
        var restricted: Bool
        var restrictedSince: Date?
        /// A new address waiting for its owner's confirmation.
        var pendingEmail: String?
        var subscriptions: [Subscription]

        init(_ record: SubscriberRecord) {
            email = record.subscriber.address
            knownSince = record.subscriber.createdAt
            restricted = record.subscriber.restrictedAt != nil
            restrictedSince = record.subscriber.restrictedAt
            pendingEmail = record.subscriber.newAddress
            subscriptions = record.subscriptions.map { entry in
                Subscription(
                    list: entry.list.slug,
                    status: entry.subscription.status.rawValue,
                    name: entry.subscription.name,
                    language: entry.subscription.language.rawValue,
                    requestedAt: entry.subscription.requestedAt,
                    confirmedAt: entry.subscription.confirmedAt,
                    endedAt: entry.subscription.endedAt
                )
            }
        }
    }

    struct Campaigns: Encodable {
        var campaigns: [Campaign]
        /// The `before` that reads the next page; absent on the last.
        var nextBefore: Int64?
    }

    struct Campaign: Encodable {
        struct Counts: Encodable {
            var queued: Int
            var leased: Int
            var sent: Int
            var failed: Int
            var skipped: Int
        }

        var id: Int64
        var list: String
        var subject: String
        var status: String
        var createdAt: Date
        var sendAt: Date?
        var queuedAt: Date?
        /// The body; in answers about one campaign only.
        var markdown: String?
        var counts: Counts

        init(_ progress: CampaignProgress, markdown: Bool) {
            let campaign = progress.campaign
            id = campaign.id ?? 0
            list = progress.listSlug
            subject = campaign.subject
            status = progress.shownStatus
            createdAt = campaign.createdAt
            sendAt = campaign.sendAt
            queuedAt = campaign.queuedAt
            self.markdown = markdown ? campaign.bodyMarkdown : nil
            counts = Counts(
                queued: progress.queued,
                leased: progress.leased,
                sent: progress.sent,
                failed: progress.failed,
                skipped: progress.skipped
            )
        }
    }

    struct Queued: Encodable {
        /// Messages queued by this request (none for subscribers who had one already).
        var queued: Int
        var campaign: Campaign
    }

    struct Import: Encodable {
        struct Refusal: Encodable {
            var line: Int
            var reason: String
        }

        var queued: Int
        var alreadyPending: Int
        var alreadyActive: Int
        var refused: [Refusal]

        init(_ report: CSVImport.Report) {
            queued = report.queued
            alreadyPending = report.alreadyPending
            alreadyActive = report.alreadyActive
            refused = report.refused.map { Refusal(line: $0.line, reason: $0.reason) }
        }
    }
}
