import Foundation

/// The record of processing activities (GDPR Art. 30), drawn from what this
/// Kuvert is configured to do: generated, so it cannot drift from it. The
/// organisation completes its own parts (controller, contact, transfers).
public struct ProcessingRecord: Sendable, Equatable {
    /// A list, as a purpose.
    public struct Purpose: Sendable, Equatable {
        public var slug: String
        public var name: String
        public var description: String?
        public var termsVersion: Int
        public var active: Int

        public init(slug: String, name: String, description: String?, termsVersion: Int, active: Int) {
            self.slug = slug
            self.name = name
            self.description = description
            self.termsVersion = termsVersion
            self.active = active
        }
    }

    public var purposes: [Purpose]
    public var confirmTTL: TimeInterval
    public var retention: TimeInterval
    public var messageRetention: TimeInterval
    /// The SMTP relay's host, and whether TLS to it is certain (`smtps://` or required STARTTLS).
    public var relayHost: String
    public var relayTLS: Bool
    public var webhookHost: String?
    public var bounceMailboxHost: String?
    /// The domains whose mail Kuvert signs; empty when signing is left to the relay.
    public var dkimDomains: [String]
    /// PostgreSQL rather than SQLite: erased rows stay on disk until `VACUUM`.
    public var postgres: Bool

    public init(
        purposes: [Purpose],
        confirmTTL: TimeInterval,
        retention: TimeInterval,
        messageRetention: TimeInterval,
        relayHost: String,
        relayTLS: Bool,
        webhookHost: String?,
        bounceMailboxHost: String?,
        dkimDomains: [String],
        postgres: Bool
    ) {
        self.purposes = purposes
        self.confirmTTL = confirmTTL
        self.retention = retention
        self.messageRetention = messageRetention
        self.relayHost = relayHost
        self.relayTLS = relayTLS
        self.webhookHost = webhookHost
        self.bounceMailboxHost = bounceMailboxHost
        self.dkimDomains = dkimDomains
        self.postgres = postgres
    }

    /// The record from the running configuration and the store's lists.
    public init(settings: Settings, lists: [ListSummary], dkimDomains: Set<String>) {
        self.init(
            purposes: lists.map { summary in
                Purpose(
                    slug: summary.list.slug,
                    name: summary.list.name,
                    description: summary.list.description,
                    termsVersion: summary.termsVersion,
                    active: summary.counts[.active] ?? 0
                )
            },
            confirmTTL: settings.subscriptions.confirmTTL,
            retention: settings.retention.retention,
            messageRetention: settings.retention.messageRetention,
            relayHost: settings.smtp.host ?? settings.smtp.url,
            relayTLS: settings.smtp.tlsIsCertain,
            webhookHost: settings.webhook.flatMap { URL(string: $0.url)?.host },
            bounceMailboxHost: settings.mail.bounceMailbox.flatMap { URL(string: $0.url)?.host },
            dkimDomains: settings.mail.dkim ? dkimDomains.sorted() : [],
            postgres: { if case .postgres = settings.storage.store { true } else { false } }()
        )
    }

    /// The record as Markdown, in Swedish or English.
    public func markdown(_ language: Language, at now: Date, time: HumanTime = .stockholm) -> String {
        let sv = language == .sv
        func days(_ interval: TimeInterval) -> String {
            let count = Int((interval / 86_400).rounded())
            return sv ? "\(count) \(count == 1 ? "dag" : "dagar")" : "\(count) \(count == 1 ? "day" : "days")"
        }
        let complete = sv ? "_(fylls i av organisationen)_" : "_(to be completed by the organisation)_"
        var lines: [String] = []
        lines.append(sv ? "# Register över behandling (GDPR artikel 30)" : "# Record of processing activities (GDPR Art. 30)")
        lines.append("")
        lines.append(
            sv
                ? "Hämtat ur Kuverts konfiguration \(time.text(now, language: language)). Organisationen fyller i sina egna delar: personuppgiftsansvarig, kontaktuppgifter, dataskyddsombud och överföringar."
                : "Drawn from this Kuvert's configuration on \(time.text(now, language: language)). The organisation completes its own parts: the controller, contact details, the data protection officer and transfers."
        )
        lines += ["", sv ? "## Personuppgiftsansvarig" : "## Controller", "", complete, ""]
        lines.append(sv ? "## Ändamål" : "## Purposes")
        lines.append("")
        if purposes.isEmpty { lines.append(sv ? "Inga listor ännu." : "No lists yet.") }
        for purpose in purposes {
            var line =
                sv
                ? "- **\(purpose.name)** (`\(purpose.slug)`): att skicka nyhetsbrevet till dem som har bett om det och bekräftat (dubbel opt-in), enligt villkor version \(purpose.termsVersion). Aktiva prenumerationer: \(purpose.active)."
                : "- **\(purpose.name)** (`\(purpose.slug)`): sending the newsletter to the people who asked for it and confirmed (double opt-in), under terms version \(purpose.termsVersion). Active subscriptions: \(purpose.active)."
            if let description = purpose.description { line += " " + description.replacingOccurrences(of: "\n", with: " ") }
            lines.append(line)
        }
        lines += ["", sv ? "## Rättslig grund" : "## Legal basis", ""]
        lines.append(
            sv
                ? "Samtycke (artikel 6.1 a), givet genom dubbel opt-in och bevarat: tid, IP-adress, webbläsare, villkorsversion och dess SHA-256."
                : "Consent (Art. 6(1)(a)), given by double opt-in and kept as proof: time, IP address, user agent, the terms version and its SHA-256."
        )
        lines += ["", sv ? "## Registrerade och personuppgifter" : "## People and data", ""]
        lines.append(
            sv
                ? "Prenumeranter. Deras e-postadress, namn (frivilligt) och språk; för varje samtycke tid, IP-adress och webbläsare; de meddelanden som skickats och vad som kom tillbaka (leveranssvar, studsar, klagomål)."
                : "Subscribers. Their email address, name (optional) and language; for each consent the time, IP address and user agent; the messages sent and what came back (delivery replies, bounces, complaints)."
        )
        lines += ["", sv ? "## Lagringstider" : "## Retention", ""]
        lines.append(
            sv
                ? "- Anmälningar som inte bekräftas raderas med adressen efter \(days(confirmTTL))."
                : "- Requests never confirmed are deleted with their address after \(days(confirmTTL))."
        )
        lines.append(
            sv
                ? "- Den vars alla prenumerationer har avslutats (avanmäld, studsad, upphörd efter ändrade villkor) raderas \(days(retention)) efter den sista."
                : "- A person whose subscriptions have all ended (unsubscribed, bounced, lapsed after a terms change) is erased \(days(retention)) after the last."
        )
        lines.append(
            sv
                ? "- Leveransuppgifter per meddelande raderas efter \(days(messageRetention)); kampanjer behåller sina summor."
                : "- Per-message delivery records are deleted after \(days(messageRetention)); campaigns keep their totals."
        )
        lines.append(
            sv
                ? "- En nyckad kontrollsumma av raderade adresser sparas, så att en gammal import inte kan lägga tillbaka dem."
                : "- A keyed hash of erased addresses is kept, so that an old import cannot bring them back."
        )
        lines += ["", sv ? "## Mottagare" : "## Recipients", ""]
        lines.append(
            (sv ? "- E-postreläet: `\(relayHost)`" : "- The mail relay: `\(relayHost)`")
                + (relayTLS
                    ? (sv ? ", alltid över TLS." : ", always over TLS.")
                    : (sv ? ", TLS när reläet erbjuder det." : ", TLS when the relay offers it."))
        )
        lines.append(
            webhookHost.map {
                sv
                    ? "- Webhook-mottagaren: `\($0)` (händelser om prenumerationer, med adress)."
                    : "- The webhook receiver: `\($0)` (subscription events, with the address)."
            }
                ?? (sv ? "- Ingen webhook." : "- No webhook.")
        )
        lines.append(
            bounceMailboxHost.map { sv ? "- Studsbrevlådan: `\($0)`." : "- The bounce mailbox: `\($0)`." }
                ?? (sv ? "- Ingen studsbrevlåda hos någon annan." : "- No bounce mailbox elsewhere.")
        )
        lines += ["", sv ? "## Överföring till tredje land" : "## Transfers to third countries", "", complete, ""]
        lines.append(sv ? "## Säkerhetsåtgärder" : "## Security measures")
        lines.append("")
        lines.append(
            relayTLS
                ? (sv ? "- TLS krävs till e-postreläet." : "- TLS is required to the mail relay.")
                : (sv ? "- TLS till e-postreläet när det erbjuds." : "- TLS to the mail relay when it is offered.")
        )
        lines.append(
            dkimDomains.isEmpty
                ? (sv ? "- DKIM-signering överlåts åt reläet." : "- DKIM signing is left to the relay.")
                : (sv ? "- DKIM-signering för " : "- DKIM signing for ") + dkimDomains.map { "`\($0)`" }.joined(separator: ", ") + "."
        )
        lines.append(
            sv
                ? "- Länkar i e-post är signerade (HMAC-SHA256) och bundna till sitt ändamål."
                : "- Links in mail are signed (HMAC-SHA256) and bound to their purpose."
        )
        lines.append(
            postgres
                ? (sv
                    ? "- Radering tar bort adress, namn och nätverksuppgifter ur varje tabell; i PostgreSQL finns de kvar på disk tills `VACUUM` (se README)."
                    : "- Erasure removes address, name and network data from every table; on PostgreSQL they stay on disk until `VACUUM` (see the README).")
                : (sv
                    ? "- Radering tar bort adress, namn och nätverksuppgifter ur varje tabell och ur databasfilerna."
                    : "- Erasure removes address, name and network data from every table and from the database files.")
        )
        lines.append(
            sv
                ? "- Varje behandling loggas med tid och aktör, utan adresser; den registrerade kan själv se, ladda ner, rätta, begränsa och radera."
                : "- Every processing action is logged with its time and actor, without addresses; people see, download, correct, restrict and erase their data themselves."
        )
        return lines.joined(separator: "\n") + "\n"
    }
}
