import ArgumentParser
import Foundation
import KuvertApp
import KuvertCore

/// `kuvert audit`: the processing log.
struct Audit: StoreCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the processing log: who did what, when. Addresses are never written to it."
    )

    @Option(help: "Only events about this subscriber.") var email: String?
    @Option(help: "Show at most this many of the newest events.") var limit: Int = 200
    @OptionGroup var options: ConfigurationOptions

    func run(with runtime: Runtime) async throws {
        let address = try email.map { try Subscribers.address($0) }
        let store = runtime.store
        let events = try await store.auditEvents(address: address, limit: max(limit, 1))
        var rows = [["TIME", "ACTOR", "ACTION", "SUBSCRIBER", "LIST", "DETAIL"]]
        for event in events {
            rows.append([
                event.occurredAt.cliText, event.actor, event.action, event.subscriberId.map { "#\($0)" } ?? "-",
                event.listId.map { "#\($0)" } ?? "-", event.detail ?? "-",
            ])
        }
        print(Table.render(rows))
    }
}
