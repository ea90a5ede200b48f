import Foundation
import KuvertTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The tests' own process runner: a daemon a helper script starts must hold
/// nothing of the test process's, or a test waiting for another process's end
/// waits for the daemon's.
@Suite("Helper programs run with standard input, output and error only")
struct TestProcessTests {
    @Test("a descriptor the test process has open (no close-on-exec) is not open in the program")
    func descriptorsClosed() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }
        let result = try TestProcess.run(["/bin/sh", "-c", "ls /proc/$$/fd"])
        #expect(result.status == 0, "\(result.stderr)")
        let open = Set(result.stdout.split(separator: "\n").compactMap { Int32($0) })
        // The shell's own 0, 1 and 2, and whatever it opened itself to run ls (at most one directory).
        #expect(open.isSuperset(of: [0, 1, 2]))
        #expect(!open.contains(ends[0]) && !open.contains(ends[1]), "\(open) holds the pipe \(ends)")
    }
}
