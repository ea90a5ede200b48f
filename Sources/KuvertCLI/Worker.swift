import ArgumentParser
import KuvertCore
import Logging
import ServiceLifecycle
import UnixSignals

/// `kuvert worker`: the mailer alone.
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the mailer worker only; several may share one store.",
        discussion: """
            Sends queued mail through KUVERT_SMTP_URL over KUVERT_SMTP_CONNECTIONS sessions until SIGTERM or \
            SIGINT, then finishes the messages in hand and returns the rest to the queue.
            """)

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let runtime = try await Runtime(options: options, templates: Runtime.mailTemplates)
        let group = ServiceGroup(
            services: [try runtime.mailer()], gracefulShutdownSignals: [.sigterm, .sigint], logger: runtime.logger)
        try await group.run()
    }
}
