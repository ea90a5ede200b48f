import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert purge`: apply retention now.
struct Purge: StoreCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Apply retention: delete unconfirmed requests older than KUVERT_CONFIRM_TTL, erase people who left longer ago than KUVERT_RETENTION, delete message records older than KUVERT_MESSAGE_RETENTION.",
        discussion: "'kuvert serve' does this at start and every hour."
    )

    @Flag(name: .customLong("dry-run"), help: "Only count what would go.") var dryRun = false
    @OptionGroup var options: ConfigurationOptions

    func run(with runtime: Runtime) async throws {
        let retention = runtime.retention(keys: try runtime.keys())
        let report = try await retention.purge(now: Date(), dryRun: dryRun)
        let verb = dryRun ? "Would delete" : "Deleted"
        print(
            "\(verb) \(report.expiredPending) unconfirmed subscription\(report.expiredPending == 1 ? "" : "s"); "
                + "\(dryRun ? "would erase" : "erased") \(report.erased) \(report.erased == 1 ? "person" : "people"); "
                + "\(dryRun ? "would delete" : "deleted") \(report.messages) message record\(report.messages == 1 ? "" : "s")."
        )
    }
}
