import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// The `kuvert` command: the server, the worker and the editors' tools.
@main
struct Kuvert: AsyncParsableCommand {
    /// Kuvert's release; the schemas are named so an operator can tell which
    /// binary a store needs.
    static let version = "0.3.0"
    static var versionText: String {
        "kuvert \(version)\ncommit: \(BuildCommit.value)\nschema: \(Runtime.schemaVersions)"
    }

    static let configuration = CommandConfiguration(
        commandName: "kuvert",
        abstract: "A self-hosted double opt-in newsletter service.",
        discussion: """
            Settings come from flags, then KUVERT_* environment variables, then the file of --config or KUVERT_CONFIG.
            Exit codes: 0 success, 1 failure (reason on stderr), 2 bad usage; 'bounces ingest' uses sysexits for its MTA (see its help).
            """,
        version: Kuvert.versionText,
        subcommands: [
            Serve.self, Worker.self, Migrate.self, Doctor.self, DKIM.self, Lists.self, Subscribers.self, CampaignCommand.self, Queue.self, Purge.self,
            Backup.self, Audit.self, Bounces.self, APITokens.self, PrivacyCommand.self,
        ]
    )

    /// Runs a command and maps failures to the documented exit codes: 1 with a
    /// one-line reason for failures, 2 for bad usage.
    static func main() async {
        unblockShutdownSignals()
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as KuvertError {
            fail(error.description)
        } catch let error as CommandFailure {
            fail(error.message)
        } catch let error as StoreUnavailable {
            // The store's own sentence says which store and why.
            fail(error.detail)
        } catch let status as ExitStatus {
            fail(status.message, code: status.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            } else if code == .validationFailure || error is ValidationError {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            } else if code == .failure || (error as? ExitCode) != nil {
                Foundation.exit(code.rawValue == 0 ? 0 : 1)
            } else {
                fail(String(describing: error))
            }
        }
    }

    /// A parent's thread may have blocked signals (libdispatch's workers do) and
    /// children inherit the mask; shutdown must still hear SIGTERM and SIGINT.
    private static func unblockShutdownSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    private static func fail(_ message: String, code: Int32 = 1) -> Never {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("kuvert: \(line)\n".utf8))
        Foundation.exit(code)
    }
}

/// A failure with a one-line reason, for exit code 1.
struct CommandFailure: Error {
    var message: String
}
