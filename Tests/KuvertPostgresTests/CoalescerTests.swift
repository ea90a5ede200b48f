import KuvertFixtures
import Synchronization
import Testing

@testable import KuvertPostgres
@testable import KuvertSQLite

@Suite("Coalescer: calls that arrive together go as one")
struct CoalescerTests {
    /// Holds a flush until the test opens it.
    final class Gate: Sendable {
        private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
        private let open = Mutex(false)

        func pass() async {
            await withCheckedContinuation { continuation in
                let through = open.withLock { $0 }
                if through { continuation.resume() } else { waiting.withLock { $0.append(continuation) } }
            }
        }

        func openUp() {
            open.withLock { $0 = true }
            for continuation in waiting.withLock({ list in
                defer { list = [] }
                return list
            }) { continuation.resume() }
        }
    }

    @Test("a call alone goes at once; those that come while it flies go together, each with its own answer in order")
    func batches() async throws {
        let batches = Mutex<[[Int]]>([])
        let gate = Gate()
        let coalescer = Coalescer<Int, Int>(flights: 1, maximumBatch: 8) { items in
            batches.withLock { $0.append(items) }
            await gate.pass()
            return items.map { $0 * 10 }
        }
        async let first = coalescer.call(0)
        // The first batch is on its way (and held) before the others call.
        while batches.withLock({ $0.count }) == 0 { await Task.yield() }
        let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for item in 1...12 { group.addTask { (item, try await coalescer.call(item)) } }
            // All twelve wait behind the held batch before it lands.
            while coalescer.waitingCount < 12 { await Task.yield() }
            gate.openUp()
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(try await first == 0)
        #expect(answers == Dictionary(uniqueKeysWithValues: (1...12).map { ($0, $0 * 10) }))
        let sizes = batches.withLock { $0.map(\.count) }
        #expect(sizes == [1, 8, 4], "\(sizes)")
        #expect(batches.withLock { $0.flatMap { $0 } }.sorted() == Array(0...12))
    }

    struct Refused: Error {}

    @Test("a batch that fails fails each of its calls, and the next batch goes on")
    func failures() async throws {
        let coalescer = Coalescer<Int, Int>(flights: 2, maximumBatch: 4) { items in
            if items.contains(3) { throw Refused() }
            return items
        }
        await #expect(throws: Refused.self) { try await coalescer.call(3) }
        #expect(try await coalescer.call(4) == 4)
        let short = Coalescer<Int, Int>(flights: 1, maximumBatch: 4) { _ in [] }
        await #expect(throws: CoalescerError.self) { try await short.call(1) }
    }
}
