import Foundation

/// The process that holds a claim on outbox messages: its host, the host's boot,
/// its process id and the time the process started.
///
/// A lease names its holder so that a process starting on the same host can
/// prove a holder gone (another boot, no such process, or a process with that id
/// that started at another time, as after pid reuse) and take its claims back at
/// once instead of waiting for the lease to run out. A holder on another host
/// cannot be checked from here: its claims come back when its lease expires,
/// which is how a node that stops renewing is known to be gone.
public struct LeaseHolder: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    /// `/proc/sys/kernel/random/boot_id`: differs after every reboot.
    public var boot: String
    public var pid: Int32
    /// When the process started, in clock ticks since boot (`/proc/PID/stat`, field 22).
    public var started: UInt64

    public init(host: String, boot: String, pid: Int32, started: UInt64) {
        self.host = host
        self.boot = boot
        self.pid = pid
        self.started = started
    }

    /// The form stored with a lease: `host boot pid started`.
    public var description: String { "\(host) \(boot) \(pid) \(started)" }

    /// Parses the stored form; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, !parts[0].isEmpty, let pid = Int32(parts[2]), let started = UInt64(parts[3]) else { return nil }
        self.init(host: String(parts[0]), boot: String(parts[1]), pid: pid, started: started)
    }

    /// This process.
    public static let current: LeaseHolder = {
        let pid = getpid()
        return LeaseHolder(
            host: ProcessInfo.processInfo.hostName,
            boot: bootID() ?? "unknown",
            pid: pid,
            started: startTime(of: pid) ?? 0
        )
    }()

    /// True when the holder can be shown not to run any more, as seen from
    /// `observer` (a process on the same host): false when unsure.
    public func isProvablyGone(seenFrom observer: LeaseHolder = .current) -> Bool {
        guard host == observer.host, boot != "unknown", observer.boot != "unknown" else { return false }
        if boot != observer.boot { return true }
        if pid == observer.pid { return started != observer.started }
        guard let started = Self.startTime(of: pid) else { return kill(pid, 0) != 0 && errno == ESRCH }
        return started != self.started
    }

    static func bootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty || id.contains(" ") ? nil : id
    }

    /// Field 22 of `/proc/PID/stat`; nil when there is no such process.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // The command name (field 2) may hold spaces: count from after its ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
