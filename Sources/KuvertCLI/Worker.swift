import ArgumentParser
import KuvertApp
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
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics and /healthz on HOST:PORT (KUVERT_METRICS_LISTEN); off by default."
    )
    var metricsListen: String?

    func run() async throws {
        // A flag's error names the flag, not the variable it overrides.
        if let metricsListen { _ = try SettingSource.listen(metricsListen, name: "--metrics-listen") }
        let runtime = try await Runtime.serving(try options.settings(extra: ["KUVERT_METRICS_LISTEN": metricsListen]))
        let logger = runtime.startLogging()
        let node = try await runtime.node(.worker, logger: logger)
        try await ServiceGroup(services: [node], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
