import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client for line protocols (LMTP, SMTP): writes what a test says,
/// byte for byte, and reads replies. Every read waits at most `timeout`, so a
/// server that never answers fails the test rather than hanging it. Its
/// blocking calls run on a queue of its own, never on the tests' cooperative
/// pool (two threads here: a server under test needs them).
public final class LineClient: @unchecked Sendable {
    /// -1 once closed.
    private var socket: Int32
    /// Touched only on `queue`.
    private var buffer: [UInt8] = []
    private let queue = DispatchQueue(label: "line-client")

    public init(port: Int, timeout: TimeInterval = 10) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var wait = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED)
            // deinit runs for a class whose init throws once every property is
            // set: it must not close the number again (by then another file's).
            close(socket)
            socket = -1
            throw error
        }
    }

    deinit {
        if socket >= 0 { close(socket) }
    }

    /// Writes `text` as it is (add "\r\n" where a line ends).
    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await onQueue { try self.sendAll(bytes) }
    }

    /// One whole reply: its lines (`250-…` continued, up to `250 …`) joined by "\n".
    public func reply() async throws -> String {
        try await onQueue { try self.readReply() }
    }

    /// Whether the server closed the connection (after whatever it still sent).
    public func closedByPeer() async throws -> Bool {
        try await onQueue {
            while try self.line() != nil {}
            return true
        }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { done in
            queue.async { done.resume(with: Result { try body() }) }
        }
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPIPE) }
            offset += sent
        }
    }

    private func readReply() throws -> String {
        var lines: [String] = []
        while true {
            guard let line = try line() else { throw ClosedByPeer(received: lines) }
            lines.append(line)
            if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return lines.joined(separator: "\n") }
        }
    }

    /// One line without its CRLF; nil at the end of the stream.
    private func line() throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return nil }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ETIMEDOUT) }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    public struct ClosedByPeer: Error {
        public var received: [String]
    }
}
