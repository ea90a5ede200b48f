import ArgumentParser
import Foundation
import KuvertCore

/// `kuvert dkim`: the DKIM keys Kuvert signs with, and the DNS records to publish.
struct DKIM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "List the DKIM keys and the DNS records to publish; create keys.",
        discussion: """
            Mail whose From domain has a key is signed by kuvert serve and kuvert worker (unless KUVERT_DKIM=off). \
            Keys live in KUVERT_DATA_DIR/dkim/, mode 0600, and are loaded at start.
            """,
        subcommands: [ListKeys.self, Generate.self],
        defaultSubcommand: ListKeys.self
    )

    struct ListKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every key and its DNS record.")

        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let settings = try options.settings()
            let directory = DKIMKeyDirectory(dataDirectory: settings.storage.dataDirectory)
            let entries = try directory.load()
            guard !entries.isEmpty else {
                print("No DKIM keys in \(directory.path): mail is not signed. Create one with 'kuvert dkim generate DOMAIN'.")
                return
            }
            let signer = DKIMSigner(entries)
            if !settings.mail.dkim { print("KUVERT_DKIM=off: these keys sign nothing; the relay signs, or no one does.\n") }
            for entry in entries {
                let key = entry.key
                let signs = signer.keys(for: key.domain).contains { $0.selector == key.selector && $0.algorithm == key.algorithm }
                print(
                    "\(key.domain)  selector \(key.selector)  \(key.strength)  created \(entry.created.cliText)  "
                        + (signs ? "signs" : "kept (an older \(key.algorithm.rawValue) key of this domain signs)")
                )
                DKIM.printRecord(key)
            }
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key for a domain and print the TXT record to publish.",
            discussion: "An existing key is never overwritten: pick another selector to make a new one."
        )

        @Argument(help: "The domain of the From addresses to sign, such as example.se.") var domain: String
        @Option(help: "The selector, the first label of the record's name (default kuvert; kuvert-ed25519 for Ed25519).")
        var selector: String?
        @Option(help: "rsa (2048 bits, what every receiver checks) or ed25519 (a second signature beside RSA).")
        var algorithm: DKIMKey.Algorithm = .rsa
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let settings = try options.settings()
            let entry = try DKIMKeyDirectory(dataDirectory: settings.storage.dataDirectory)
                .generate(domain: domain, selector: selector ?? algorithm.defaultSelector, algorithm: algorithm)
            print("Created \(entry.key.strengthWithArticle) key for \(entry.key.domain) in \(entry.path).")
            print("Publish this TXT record at your DNS host:")
            DKIM.printRecord(entry.key)
            print("kuvert serve and kuvert worker sign with it from their next start.")
            if entry.key.algorithm == .ed25519 {
                print("Ed25519 signs beside RSA, never instead: Gmail checks RSA only. Keep an RSA key for \(entry.key.domain) too.")
            }
        }
    }

    static func printRecord(_ key: DKIMKey) {
        print("  name:  \(key.recordName)")
        print("  type:  TXT")
        print("  value: \(key.recordStrings)")
    }
}

extension DKIMKey.Algorithm: ExpressibleByArgument {}
