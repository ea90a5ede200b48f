import Foundation
import Testing

@testable import KuvertCore

@Suite("Blocking work runs on threads of its own, named and niced as asked")
struct BlockingWorkTests {
    /// The calling thread's name and nice value, as the kernel has them.
    static func currentThread() -> (name: String, nice: Int) {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        let stat = (try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)) ?? ""
        let fields = stat.lastIndex(of: ")").map { stat[stat.index(after: $0)...].split(separator: " ") } ?? []
        return (name.trimmingCharacters(in: .newlines), fields.count > 16 ? Int(fields[16]) ?? -100 : -100)
    }

    @Test("a named thread at the nice value asked for; the caller's own thread unchanged")
    func nameAndNice() async throws {
        let lowered = await BlockingWork.run("kuvert-test-7", nice: 7) { Self.currentThread() }
        #expect(lowered.name == "kuvert-test-7")
        #expect(lowered.nice == 7)
        let plain = await BlockingWork.run("kuvert-test-0") { Self.currentThread() }
        #expect(plain.name == "kuvert-test-0" && plain.nice == 0)
    }

    struct Refused: Error, Equatable {}

    @Test("an error thrown on the thread reaches the caller")
    func errors() async {
        await #expect(throws: Refused.self) {
            try await BlockingWork.run("kuvert-test-error") { () throws -> Int in throw Refused() }
        }
    }
}
