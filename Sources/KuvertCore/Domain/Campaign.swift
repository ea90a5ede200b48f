import Foundation

/// A newsletter issue for one list, written in Markdown.
public struct Campaign: Equatable, Sendable, Codable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Created, not queued.
        case draft
        /// Queued; workers send its messages as they come due.
        case sending
        /// Queued, held back until resumed.
        case paused
        /// Stopped; unsent messages were skipped.
        case cancelled

        /// Whether an operator's change to `status` applies: true for a change,
        /// false when the campaign is there already (nothing to do).
        /// - Throws: `KuvertError.campaignState` for a change that makes no sense.
        public func changes(to status: Status, campaign id: Int64) throws -> Bool {
            switch (self, status) {
            case (.sending, .paused), (.paused, .sending), (.sending, .cancelled), (.paused, .cancelled), (.draft, .cancelled):
                return true
            case (let from, let to) where from == to:
                return false
            case (let from, let to):
                throw KuvertError.campaignState("Campaign \(id) is \(from.rawValue); it cannot become \(to.rawValue).")
            }
        }
    }

    public var id: Int64?
    public var listId: Int64
    public var subject: String
    public var bodyMarkdown: String
    /// The body as HTML, rendered once from the Markdown when created.
    public var bodyHTML: String
    /// The body as plain text, derived once from the Markdown when created.
    public var bodyText: String
    public var status: Status
    public var createdAt: Date
    /// When its messages come due (now, or a later `--at`).
    public var sendAt: Date?
    public var queuedAt: Date?

    public init(
        id: Int64? = nil,
        listId: Int64,
        subject: String,
        bodyMarkdown: String,
        bodyHTML: String,
        bodyText: String,
        status: Status,
        createdAt: Date,
        sendAt: Date? = nil,
        queuedAt: Date? = nil
    ) {
        self.id = id
        self.listId = listId
        self.subject = subject
        self.bodyMarkdown = bodyMarkdown
        self.bodyHTML = bodyHTML
        self.bodyText = bodyText
        self.status = status
        self.createdAt = createdAt
        self.sendAt = sendAt
        self.queuedAt = queuedAt
    }

    /// The longest subject accepted, in characters.
    public static let maximumSubjectLength = 300

    /// Subscriptions queued in one transaction when a campaign is sent (by the
    /// CLI or the API): quick, without holding intake up for long.
    public static let queueBatchSize = 50_000
}

/// Where a campaign's delivery stands, for `kuvert campaign status`.
public struct CampaignProgress: Sendable, Equatable {
    public var campaign: Campaign
    public var listSlug: String
    public var queued: Int
    public var leased: Int
    public var sent: Int
    public var failed: Int
    public var skipped: Int
    /// Messages recorded sent in the last minute.
    public var sentLastMinute: Int
    /// When the last of its messages still kept was recorded sent.
    public var lastSentAt: Date?

    public var total: Int { queued + leased + sent + failed + skipped }
    public var remaining: Int { queued + leased }

    /// The state people see: a sending campaign with every message sent,
    /// failed or skipped is `sent`, its end state (the store keeps `sending`:
    /// sending it again adds nobody).
    public var shownStatus: String {
        campaign.status == .sending && total > 0 && remaining == 0 ? "sent" : campaign.status.rawValue
    }

    /// Every field, as a store reads it from its rows.
    public init(
        campaign: Campaign,
        listSlug: String,
        queued: Int,
        leased: Int,
        sent: Int,
        failed: Int,
        skipped: Int,
        sentLastMinute: Int,
        lastSentAt: Date?
    ) {
        self.campaign = campaign
        self.listSlug = listSlug
        self.queued = queued
        self.leased = leased
        self.sent = sent
        self.failed = failed
        self.skipped = skipped
        self.sentLastMinute = sentLastMinute
        self.lastSentAt = lastSentAt
    }
}

extension CampaignProgress {
    /// Sending counts as stalled after this long without a message recorded
    /// sent, or after three times what one message takes at the recent rate.
    public static let stallAfter: TimeInterval = 15

    /// One line for `kuvert campaign status`: counts, rate and time left; or,
    /// while messages wait and none has gone out for a while (a relay down, no
    /// worker running), how long nothing was sent instead of a time left.
    public func statusLine(bar: Bool, now: Date) -> String {
        let done = total - remaining
        // Sends of the last minute over the part of that minute the campaign was sending.
        let started = max(campaign.sendAt ?? now, campaign.queuedAt ?? now)
        let window = min(60, now.timeIntervalSince(started))
        let rate = window > 0.5 ? Double(sentLastMinute) / window : 0
        var line =
            "#\(campaign.id ?? 0) \(listSlug) \"\(campaign.subject)\" \(shownStatus): "
            + "queued \(remaining), sent \(sent), failed \(failed), skipped \(skipped)"
        let quiet = now.timeIntervalSince(max(lastSentAt ?? started, started))
        if campaign.status == .sending, remaining > 0, quiet > max(Self.stallAfter, rate > 0 ? 3 / rate : 0) {
            line += ", nothing sent for \(Int(quiet))s (see 'kuvert queue')"
        } else if rate > 0 {
            line += String(format: ", %.1f/s", rate)
            // Paused: nothing goes until it is resumed, so no time left to show.
            if remaining > 0, campaign.status == .sending { line += ", ETA \(Int((Double(remaining) / rate).rounded(.up)))s" }
        }
        guard bar, total > 0 else { return line }
        let width = 30
        let filled = width * done / total
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " + line
    }
}

/// A campaign with its list.
public struct CampaignAndList: Sendable {
    public var campaign: Campaign
    public var list: MailingList

    public init(campaign: Campaign, list: MailingList) {
        self.campaign = campaign
        self.list = list
    }
}
