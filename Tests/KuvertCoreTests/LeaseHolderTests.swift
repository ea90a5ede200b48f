import Foundation
import KuvertFixtures
import KuvertTestSupport
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Leases name their holder, so a dead holder's claims come back at once", .serialized)
struct LeaseHolderTests {
    /// A process that ran and exited: its pid names nobody now.
    static func exitedProcess() throws -> LeaseHolder {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        let started = LeaseHolder.startTime(of: process.processIdentifier)
        process.waitUntilExit()
        var holder = LeaseHolder.current
        holder.pid = process.processIdentifier
        holder.started = started ?? 1
        return holder
    }

    @Test("the stored form reads back; anything else is refused")
    func storedForm() throws {
        let holder = LeaseHolder(host: "mail-1.example.se", boot: "2f1c-aa", pid: 4242, started: 987_654)
        #expect(LeaseHolder(holder.description) == holder)
        for bad in ["", "host", "host boot x 1", "host boot 1 -1", " boot 1 1", "a b 1 2 3"] {
            #expect(LeaseHolder(bad) == nil, "\(bad)")
        }
    }

    @Test("which holders are provably gone")
    func provablyGone() throws {
        let me = LeaseHolder.current
        #expect(me.pid == getpid() && me.started > 0 && me.boot != "unknown")
        #expect(!me.isProvablyGone())
        #expect(try Self.exitedProcess().isProvablyGone())
        // Our own pid with another start time: a process that used the pid before us.
        var earlier = me
        earlier.started -= 1
        #expect(earlier.isProvablyGone())
        // A process that runs, here: pid 1.
        let initProcess = LeaseHolder(host: me.host, boot: me.boot, pid: 1, started: LeaseHolder.startTime(of: 1) ?? 0)
        #expect(!initProcess.isProvablyGone())
        // Another boot of this host: everything it ran is gone.
        var beforeReboot = initProcess
        beforeReboot.boot = "another-boot"
        #expect(beforeReboot.isProvablyGone())
        // Another host cannot be checked from here: its lease must run out.
        var elsewhere = try Self.exitedProcess()
        elsewhere.host = "elsewhere.example.se"
        #expect(!elsewhere.isProvablyGone())
    }

    @Test("a starting mailer takes back a dead local holder's claims at once and leaves a remote holder's alone")
    func reclaimAtStart() async throws {
        let harness = try await MailerHarness { $0.mailer.leaseDuration = 300 }
        try await harness.store.addList()
        for index in 0..<6 { try await harness.subscribe("reader\(index)@example.se") }
        // A worker on this host claimed three and was killed; one elsewhere claimed three and runs on.
        let dead = try Self.exitedProcess()
        var remote = LeaseHolder.current
        remote.host = "elsewhere.example.se"
        #expect(try harness.store.database.leaseDueMessages(limit: 3, leaseFor: 300, holder: dead, now: Date()).count == 3)
        #expect(try harness.store.database.leaseDueMessages(limit: 3, leaseFor: 300, holder: remote, now: Date()).count == 3)
        try await harness.withMailer { mailer in
            try await harness.server.waitFor { harness.server.messages().count == 3 }
            try await harness.waitUntilLooked(mailer)
        }
        let outbox = try await harness.outbox()
        #expect(outbox.filter { $0.status == .sent }.count == 3)
        #expect(outbox.filter { $0.status == .leased }.count == 3)
        let holders = try harness.store.database.leaseHolders()
        #expect(holders.map(\.holder) == [remote.description] && holders.map(\.messages) == [3])
        #expect(Set(harness.server.messages().flatMap(\.to)) == Set((0..<3).map { "reader\($0)@example.se" }))
    }
}
