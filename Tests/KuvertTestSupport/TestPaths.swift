import Foundation

/// Places in the repository the tests use.
public enum TestPaths {
    /// The repository's root directory.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The templates the product ships.
    public static let templates = root.appendingPathComponent("Templates").path

    /// A message in `Tests/Fixtures/bounces` (see its README), as bytes.
    public static func bounceFixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/bounces/\(name)")))
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(
    timeout: TimeInterval = 30,
    _ what: String = "condition",
    _ condition: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while try await !condition() {
        guard Date() < deadline else { throw WaitTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

public struct WaitTimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting for \(what)" }
}
