import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert api-token`: the bearer tokens of `/api/v1/`.
struct APITokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-token",
        abstract: "Create, list and revoke the bearer tokens of the HTTP API (/api/v1/).",
        subcommands: [List.self, Create.self, Revoke.self],
        defaultSubcommand: List.self
    )

    struct Create: StoreCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token and print it once; only its SHA-256 is stored."
        )

        @Argument(help: "A name for the program that will hold it: letters, digits, '.', '_' and '-'.")
        var name: String

        @OptionGroup var options: ConfigurationOptions

        func validate() throws {
            guard APIToken.validName(name) else {
                throw ValidationError("The name must be 1 to 64 letters, digits, '.', '_' or '-'.")
            }
        }

        func run(with runtime: Runtime) async throws {
            let secret = APIToken.newSecret()
            _ = try await runtime.store.createAPIToken(
                name: name,
                tokenHash: APIToken.hash(secret),
                actor: "cli",
                now: Date()
            )
            print(secret)
            FileHandle.standardError.write(Data("Token \(name) created. It is shown this once: keep it where the program reads it.\n".utf8))
        }
    }

    struct List: StoreCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every token: name, made, revoked.")

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            let tokens = try await runtime.store.apiTokens()
            guard !tokens.isEmpty else {
                print("No API tokens yet. Make one with: kuvert api-token create NAME")
                return
            }
            var rows = [["NAME", "CREATED", "REVOKED"]]
            for token in tokens {
                rows.append([token.name, token.createdAt.cliText, token.revokedAt?.cliText ?? "-"])
            }
            print(Table.render(rows))
        }
    }

    struct Revoke: StoreCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke the active token of that name; it stops working at once.")

        @Argument(help: "The token's name.")
        var name: String

        @OptionGroup var options: ConfigurationOptions

        func run(with runtime: Runtime) async throws {
            guard try await runtime.store.revokeAPIToken(name: name, actor: "cli", now: Date()) else {
                throw CommandFailure(message: "No active API token is called '\(name)'.")
            }
            print("Revoked \(name).")
        }
    }
}
