import ArgumentParser
import KuvertApp
import KuvertCore
import KuvertWeb
import Logging
import ServiceLifecycle
import UnixSignals

/// `kuvert serve`: the HTTP server and the mailer worker in one process.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server and the mailer worker.",
        discussion: """
            Listens on KUVERT_LISTEN (default 127.0.0.1:8080) and sends queued mail through KUVERT_SMTP_URL \
            until SIGTERM or SIGINT, then finishes the messages in hand and exits.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Address to listen on, HOST:PORT (KUVERT_LISTEN).")
    var listen: String?

    @Flag(name: .customLong("no-mailer"), help: "Serve HTTP only; run 'kuvert worker' elsewhere to send.")
    var noMailer = false

    @Option(
        name: .customLong("metrics-listen"),
        help: "Serve /metrics (and /healthz) on HOST:PORT only (KUVERT_METRICS_LISTEN); else /metrics answers loopback clients only."
    )
    var metricsListen: String?

    func run() async throws {
        // A flag's error names the flag, not the variable it overrides.
        if let listen { _ = try SettingSource.listen(listen, name: "--listen") }
        if let metricsListen { _ = try SettingSource.listen(metricsListen, name: "--metrics-listen") }
        let runtime = try await Runtime.serving(
            try options.settings(extra: ["KUVERT_LISTEN": listen, "KUVERT_METRICS_LISTEN": metricsListen])
        )
        let logger = runtime.startLogging()
        // Client connections are bounded below this (KUVERT_MAX_CONNECTIONS).
        let descriptors = DescriptorLimit.raise()
        if let cap = runtime.settings.http.maxConnections, cap > descriptors - DescriptorLimit.reserved {
            logger.warning("KUVERT_MAX_CONNECTIONS is \(cap), but the process may open \(descriptors) descriptors; raise LimitNOFILE")
        }
        let node = try await runtime.node(.serve(mailer: !noMailer), logger: logger)
        let http = runtime.settings.http
        logger.info(
            "kuvert serve starting",
            metadata: [
                "listen": "\(http.listenHost):\(http.listenPort)",
                "database": .string(runtime.settings.storage.store.logText),
                "mailer": .stringConvertible(!noMailer),
            ]
        )
        try await ServiceGroup(services: [node], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
