import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore
import KuvertWeb

/// `kuvert doctor`: checks what a running Kuvert depends on, sending nothing.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check configuration, store, templates and the SMTP server; print the DNS records to publish.",
        discussion: """
            Connects to KUVERT_SMTP_URL as the mailer would (EHLO, STARTTLS, AUTH when configured) and \
            says NOOP: no mail is sent. Exit status 1 when a check fails.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    private enum Verdict: String {
        case ok, warn
        case fail = "FAIL"
    }

    /// The store's line, and the domains of the lists' own senders for the DKIM check.
    private func storeCheck(_ settings: Settings) async -> (Verdict, String, listSenders: [String]) {
        do {
            return try await Runtime.with(settings, schema: .requireCurrent) { runtime in
                let diagnosis = try await runtime.store.diagnosis()
                let lists =
                    "\(diagnosis.lists) list\(diagnosis.lists == 1 ? "" : "s")"
                    + (diagnosis.lists == 0 ? " (create one with kuvert lists add)" : "")
                let senders = (try? await runtime.store.listSummaries())?.compactMap { summary in
                    summary.list.fromAddress.flatMap { try? Mailbox(parsing: $0).domain }
                }
                return (
                    diagnosis.sound ? (diagnosis.lists == 0 ? .warn : .ok) : .fail,
                    "\(settings.storage.store): " + (["schema \(diagnosis.schema)"] + diagnosis.facts + [lists]).joined(separator: ", "),
                    senders ?? []
                )
            }
        } catch {
            return (.fail, "\(error)", [])
        }
    }

    func run() async throws {
        var failed = false
        func report(_ check: String, _ verdict: Verdict, _ detail: String) {
            if verdict == .fail { failed = true }
            print(
                check.padding(toLength: 16, withPad: " ", startingAt: 0) + verdict.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) + detail
            )
        }

        let settings: Settings
        do {
            settings = try options.settings()
            report("configuration", .ok, "KUVERT_* settings are valid" + (options.file.map { " (with the file \($0))" } ?? ""))
        } catch {
            report("configuration", .fail, "\(error)")
            throw ExitCode.failure
        }

        do {
            let keys = try SecretKeys.load(settings.storage)
            let source = settings.storage.secret == nil ? "key file in \(settings.storage.dataDirectory)" : "KUVERT_SECRET"
            report("secret", .ok, "\(keys.count) key\(keys.count == 1 ? "" : "s") from \(source)")
        } catch {
            report("secret", .fail, "\(error)")
        }

        let (verdict, detail, listSenders) = await storeCheck(settings)
        report("store", verdict, detail)

        let required = WebDependencies.requiredTemplates + Runtime.mailTemplates
        do {
            _ = try await TemplateRenderer(directory: settings.storage.templatesDirectory, required: required)
            _ = try APIDocument(templatesDirectory: settings.storage.templatesDirectory)
            report("templates", .ok, "\(required.count) templates and the API document in \(settings.storage.templatesDirectory)")
        } catch {
            report("templates", .fail, "\(error)")
        }

        let baseURL = settings.mail.baseURL
        let base = URL(string: baseURL)
        let localBase = SettingSource.isLoopback(base?.host)
        if base?.scheme == "https" || localBase {
            report("base URL", .ok, baseURL + (localBase ? " (local: links in mail only work on this machine)" : ""))
        } else {
            report("base URL", .warn, "\(baseURL) is not https: confirmation and unsubscribe links travel in clear")
        }

        var senderDomains: [String] = []
        do {
            let sender = try settings.mail.sender()
            senderDomains.append(sender.domain)
            report(
                "sender",
                sender.domain == "localhost" ? .warn : .ok,
                settings.mail.from
                    + (sender.domain == "localhost" ? " (set KUVERT_FROM to an address of your domain)" : "")
            )
        } catch {
            report("sender", .fail, "\(error)")
        }
        for domain in listSenders where !senderDomains.contains(domain) { senderDomains.append(domain) }

        var dkim = DKIMSigner([])
        if settings.mail.dkim {
            do {
                let entries = try DKIMKeyDirectory(dataDirectory: settings.storage.dataDirectory).load()
                dkim = DKIMSigner(entries)
                let unsigned = senderDomains.filter { $0 != "localhost" && dkim.keys(for: $0).isEmpty }
                let signing = senderDomains.filter { !dkim.keys(for: $0).isEmpty }.map { domain in
                    domain + " (" + dkim.keys(for: domain).map { "\($0.selector), \($0.algorithm.tag)" }.joined(separator: "; ") + ")"
                }
                var parts: [String] = []
                if !signing.isEmpty { parts.append("signs mail from " + signing.joined(separator: ", ")) }
                if !unsigned.isEmpty {
                    parts.append(
                        "no key for " + unsigned.joined(separator: ", ")
                            + ": run kuvert dkim generate DOMAIN, or one-click unsubscribe rests on the relay's signature"
                    )
                }
                let detail = parts.isEmpty ? "no sending domain to sign (set KUVERT_FROM)" : parts.joined(separator: "; ")
                report("DKIM", unsigned.isEmpty && !signing.isEmpty ? .ok : .warn, detail)
            } catch {
                report("DKIM", .fail, "\(error)")
            }
        } else {
            report("DKIM", .warn, "KUVERT_DKIM=off: the relay must sign, with List-Unsubscribe and List-Unsubscribe-Post in its header list")
        }

        var relayHost: String?
        do {
            let smtp = settings.smtp
            relayHost = smtp.host
            let probe = try SMTPTransport(settings: smtp).probe()
            if let error = probe.error {
                report("SMTP", .fail, "\(smtp.url): \(LogRedaction.addresses(in: error))")
            } else {
                let tls =
                    smtp.url.hasPrefix("smtps://")
                    ? "TLS from the start"
                    : probe.usedSTARTTLS ? "STARTTLS used" : "no TLS (STARTTLS not offered)"
                let auth = smtp.username == nil ? "AUTH not configured" : probe.authenticated ? "AUTH accepted" : "AUTH not asked for"
                let extensions = probe.extensions.map { $0.split(separator: " ").first.map(String.init) ?? $0 }
                let encrypted = smtp.url.hasPrefix("smtps://") || probe.usedSTARTTLS
                let cleartext = !encrypted && !SettingSource.isLoopback(relayHost)
                // Only possible with KUVERT_SMTP_TLS=opportunistic set on purpose; a
                // relay on this machine that wants a password should get it over TLS too.
                let passwordInClear = !encrypted && smtp.username != nil
                report(
                    "SMTP",
                    passwordInClear ? .fail : cleartext ? .warn : .ok,
                    "\(smtp.url): \(probe.greeting ?? "no greeting"); EHLO offers \(extensions.joined(separator: ", ")); \(tls); \(auth); no mail sent"
                        + (passwordInClear ? "; the password went out in clear: unset KUVERT_SMTP_TLS, or use smtps://" : "")
                )
            }
        } catch {
            report("SMTP", .fail, "\(error)")
        }

        for domain in senderDomains where domain != "localhost" {
            print("\nDNS records for mail from \(domain) (not looked up; publish them at your DNS host):")
            for record in Deliverability.records(domain: domain, relayHost: relayHost, dkim: dkim.keys(for: domain)) {
                print("  \(record.purpose.padding(toLength: 6, withPad: " ", startingAt: 0)) \(record.name) \(record.type) \(record.quotedValue)")
                print("         \(record.note)")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
