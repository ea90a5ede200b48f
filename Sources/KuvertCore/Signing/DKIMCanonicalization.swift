/// RFC 6376 `relaxed` canonicalisation, and the split of a message into the
/// header fields and the body it works on.
public enum DKIMCanonicalization {
    /// One header field as it stands in the message: its name and its whole
    /// text (name, colon, value, with any folding), without the final CRLF.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var raw: [UInt8]
    }

    /// The header fields of `message` and the offset where its body starts
    /// (after the empty line); the body is empty when there is no empty line.
    public static func split(_ message: [UInt8]) -> (fields: [Field], bodyStart: Int) {
        var fields: [Field] = []
        var index = 0
        var current: (start: Int, end: Int)?
        func finish() {
            guard let (start, end) = current else { return }
            let raw = Array(message[start..<end])
            let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
            fields.append(Field(name: String(decoding: raw[..<colon], as: UTF8.self), raw: raw))
            current = nil
        }
        while index < message.count {
            let lineEnd = lineEnd(in: message, from: index)
            if lineEnd.contentEnd == index {
                finish()
                return (fields, lineEnd.next)
            }
            let first = message[index]
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t"), current != nil {
                current!.end = lineEnd.contentEnd
            } else {
                finish()
                current = (index, lineEnd.contentEnd)
            }
            index = lineEnd.next
        }
        finish()
        return (fields, message.count)
    }

    /// `name:value` with the name in lower case, the value unfolded, runs of
    /// spaces and tabs made one space, and none at either end; then CRLF.
    public static func relaxedHeader(_ field: Field) -> [UInt8] {
        let raw = field.raw
        let colon = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
        var out = Array(trimmed(raw[..<colon]).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 })
        out.append(UInt8(ascii: ":"))
        var pendingSpace = false
        var started = false
        for byte in raw[min(colon + 1, raw.count)...] {
            switch byte {
            case 13, 10: continue
            case 32, 9: pendingSpace = started
            default:
                if pendingSpace { out.append(32) }
                pendingSpace = false
                started = true
                out.append(byte)
            }
        }
        out.append(contentsOf: [13, 10])
        return out
    }

    /// The body with runs of spaces and tabs made one space, none at a line's
    /// end, no empty lines at the end, and a final CRLF unless it is empty.
    public static func relaxedBody<C: RandomAccessCollection>(_ body: C) -> [UInt8] where C.Element == UInt8, C.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var emptyLines = 0
        var index = body.startIndex
        while index < body.endIndex {
            var line: [UInt8] = []
            var pendingSpace = false
            var position = index
            while position < body.endIndex, !(body[position] == 13 && position + 1 < body.endIndex && body[position + 1] == 10) {
                let byte = body[position]
                if byte == 32 || byte == 9 {
                    pendingSpace = true
                } else {
                    if pendingSpace { line.append(32) }
                    pendingSpace = false
                    line.append(byte)
                }
                position += 1
            }
            index = min(position + 2, body.endIndex)
            if line.isEmpty {
                emptyLines += 1
            } else {
                for _ in 0..<emptyLines { out.append(contentsOf: [13, 10]) }
                emptyLines = 0
                out.append(contentsOf: line)
                out.append(contentsOf: [13, 10])
            }
        }
        return out
    }

    private static func lineEnd(in bytes: [UInt8], from start: Int) -> (contentEnd: Int, next: Int) {
        var index = start
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 { return (index, index + 2) }
            if bytes[index] == 10 { return (index, index + 1) }
            index += 1
        }
        return (bytes.count, bytes.count)
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }
}
