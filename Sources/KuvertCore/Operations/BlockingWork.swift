import Foundation

/// The one way Kuvert runs blocking calls (libcurl's SMTP, HTTP and IMAP
/// sessions, and the delivery records they write): each on a thread of its
/// own, never on Swift's cooperative pool, whose threads (one a core) the web,
/// LMTP and PostgreSQL's client need to stay free.
///
/// A thread costs some tens of microseconds to start: fine for a mailer
/// session that runs for the process's life, and for an IMAP or webhook call
/// that waits on the network for milliseconds.
public enum BlockingWork {
    /// Runs `body` on a new thread called `name` and returns its result.
    /// - Parameter nice: the thread's nice value (Linux applies nice per
    ///   thread): above 0 for work that must yield to the web's threads.
    public static func run<T: Sendable>(
        _ name: String,
        nice: Int32 = 0,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { done in
            start(name, nice: nice) { done.resume(with: Result { try body() }) }
        }
    }

    /// Runs `body`, which cannot fail, on a new thread called `name`.
    public static func run<T: Sendable>(
        _ name: String,
        nice: Int32 = 0,
        _ body: @escaping @Sendable () -> T
    ) async -> T {
        await withCheckedContinuation { done in
            start(name, nice: nice) { done.resume(returning: body()) }
        }
    }

    private static func start(_ name: String, nice: Int32, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            setKernelName(name)
            if nice > 0 { lowerThreadPriority(to: nice) }
            body()
        }
        thread.name = name
        thread.start()
    }

    /// The kernel's name for the calling thread (what `top -H` and
    /// `/proc/PID/task/TID/comm` show), at most 15 bytes. Foundation's
    /// `Thread.name` on Linux sets it only when the thread names itself, so a
    /// name given before `start()` stayed the spawning thread's; and Glibc's
    /// `pthread_setname_np` is not exported to Swift. A thread may write its
    /// own name to `/proc/thread-self/comm`.
    private static func setKernelName(_ name: String) {
        #if os(Linux)
        guard let file = fopen("/proc/thread-self/comm", "w") else { return }
        _ = fputs(String(decoding: name.utf8.prefix(15), as: UTF8.self), file)
        fclose(file)
        #endif
    }

    /// `nice` for the calling thread. Linux applies nice per thread, named by
    /// its id, which Swift's Glibc does not export: `/proc/thread-self` names it.
    private static func lowerThreadPriority(to nice: Int32) {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard length > 0,
            let tid = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "/").last.flatMap({ id_t($0) })
        else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, nice)
        #endif
    }
}
