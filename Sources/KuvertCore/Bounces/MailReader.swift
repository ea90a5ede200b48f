import Foundation

/// A message as RFC 5322 and MIME lay it out: header fields, a blank line, a
/// body; a multipart body is parts of the same shape. Just enough MIME to read
/// reports (RFC 6522) from strangers: bytes are taken as they come, header
/// values are unfolded and read as UTF-8, and depth and part counts are capped
/// so that no input costs more than its size.
struct MailReader {
    /// Header fields in order, names lower-cased.
    let fields: [(name: String, value: String)]
    /// The body as sent, without transfer decoding.
    let body: ArraySlice<UInt8>
    /// How deep in a multipart this message sits.
    let depth: Int

    static let maximumDepth = 4
    static let maximumParts = 64

    init(_ bytes: ArraySlice<UInt8>, depth: Int = 0) {
        var fields: [(name: String, value: String)] = []
        var position = bytes.startIndex
        var first = true
        while position < bytes.endIndex {
            let (line, next) = Self.line(in: bytes, from: position)
            if line.isEmpty {
                position = next
                break
            }
            // An mbox "From " line before the fields is no field.
            if first, line.starts(with: Array("From ".utf8)) {
                position = next
                first = false
                continue
            }
            first = false
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                if !fields.isEmpty {
                    fields[fields.count - 1].value += " " + Self.text(line).trimmingCharacters(in: .whitespaces)
                }
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = Self.text(line[line.startIndex..<colon]).trimmingCharacters(in: .whitespaces).lowercased()
                let value = Self.text(line[(colon + 1)...]).trimmingCharacters(in: .whitespaces)
                fields.append((name, value))
            } else {
                // Not a field: the body began without its blank line.
                break
            }
            position = next
        }
        self.fields = fields
        self.body = bytes[position...]
        self.depth = depth
    }

    init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// The first field of this name (lower case).
    func field(_ name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// `Content-Type`, `text/plain` when absent (RFC 2045).
    var contentType: ContentType {
        ContentType(field("content-type") ?? "text/plain")
    }

    /// The parts of a multipart body; none for any other body, past the depth
    /// limit, or beyond the part limit.
    var parts: [MailReader] {
        let type = contentType
        guard type.mediaType.hasPrefix("multipart/"), depth < Self.maximumDepth else { return [] }
        let declared = type.parameters["boundary"] ?? ""
        var delimiter = Array("--\(declared)".utf8)
        // A body whose delimiters are not the declared boundary (a relay that
        // rewrote one and not the other), or a multipart that lost its boundary
        // parameter (folded without white space, lhost-verizon-02): the first
        // delimiter-shaped line it has.
        if declared.isEmpty || Self.find(delimiter, in: body) == nil {
            guard let found = Self.firstDelimiter(in: body) else { return [] }
            delimiter = found
        }
        var parts: [MailReader] = []
        var partStart: ArraySlice<UInt8>.Index?
        var position = body.startIndex
        var closed = false
        while position < body.endIndex, parts.count < Self.maximumParts {
            let (line, next) = Self.line(in: body, from: position)
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                let closing = rest.starts(with: Array("--".utf8))
                if closing || rest.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                    if let start = partStart {
                        // The line break before a delimiter belongs to the delimiter.
                        var end = position
                        if end > start, body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
                        if end > start, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                        parts.append(MailReader(body[start..<end], depth: depth + 1))
                    }
                    if closing {
                        closed = true
                        break
                    }
                    partStart = next
                }
            }
            position = next
        }
        // A body cut before its closing delimiter still has its last part.
        if !closed, let start = partStart, start < body.endIndex, parts.count < Self.maximumParts {
            parts.append(MailReader(body[start...], depth: depth + 1))
        }
        return parts
    }

    /// Where `needle` first occurs in `bytes`: the first byte found by the
    /// standard library's scan, the rest compared in place. (The generic
    /// `firstRange(of:)` took twice the whole reader's time.)
    static func find(_ needle: [UInt8], in bytes: ArraySlice<UInt8>) -> Range<Int>? {
        guard let first = needle.first, needle.count <= bytes.count else { return needle.isEmpty ? bytes.startIndex..<bytes.startIndex : nil }
        var position = bytes.startIndex
        let last = bytes.endIndex - needle.count
        while position <= last, let found = bytes[position...last].firstIndex(of: first) {
            if bytes[found..<(found + needle.count)].elementsEqual(needle) { return found..<(found + needle.count) }
            position = found + 1
        }
        return nil
    }

    /// The first line of `body` shaped as a delimiter: `--` and a boundary of
    /// printable characters without spaces, looked for in the first 4 KB.
    private static func firstDelimiter(in body: ArraySlice<UInt8>) -> [UInt8]? {
        var position = body.startIndex
        let end = body.index(body.startIndex, offsetBy: min(body.count, 4_096))
        while position < end {
            let (line, next) = line(in: body, from: position)
            if line.count > 3, line.starts(with: [45, 45]), line.dropFirst(2).allSatisfy({ $0 > 32 && $0 < 127 }) { return Array(line) }
            position = next
        }
        return nil
    }

    /// Every part at any depth, in order, the multiparts themselves included:
    /// a report inside `multipart/mixed`, a message wrapped by a forwarder.
    /// Bounded as `parts` is, and in all by `maximumParts`.
    var allParts: [MailReader] {
        var found: [MailReader] = []
        func walk(_ message: MailReader) {
            for part in message.parts where found.count < Self.maximumParts {
                found.append(part)
                let type = part.contentType.mediaType
                if type.hasPrefix("multipart/") { walk(part) }
                // A bounce forwarded as an attachment: the message inside, read as a message.
                if type == "message/rfc822", part.depth < Self.maximumDepth { walk(MailReader(part.decodedBody[...], depth: part.depth + 1)) }
            }
        }
        walk(self)
        return found
    }

    /// The body with its `Content-Transfer-Encoding` (base64, quoted-printable) undone.
    var decodedBody: [UInt8] {
        switch field("content-transfer-encoding")?.lowercased() {
        case "base64":
            return Data(base64Encoded: Data(body), options: .ignoreUnknownCharacters).map { [UInt8]($0) } ?? []
        case "quoted-printable":
            return Self.quotedPrintable(body)
        default:
            return Array(body)
        }
    }

    /// The line at `position` without its line break, and where the next begins.
    static func line(
        in bytes: ArraySlice<UInt8>,
        from position: ArraySlice<UInt8>.Index
    )
        -> (line: ArraySlice<UInt8>, next: ArraySlice<UInt8>.Index)
    {
        guard let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
            return (bytes[position...], bytes.endIndex)
        }
        var end = newline
        if end > position, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return (bytes[position..<end], newline + 1)
    }

    static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    private static func quotedPrintable(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "=") else {
                out.append(byte)
                index += 1
                continue
            }
            let rest = bytes[(index + 1)...]
            if rest.starts(with: [13, 10]) {
                index += 3
                continue
            }
            if rest.first == 10 {
                index += 2
                continue
            }
            if rest.count >= 2, let high = hexValue(rest[rest.startIndex]), let low = hexValue(rest[rest.startIndex + 1]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

/// A `Content-Type` value: the media type, lower-cased, and its parameters
/// (names lower-cased, quotes removed).
struct ContentType: Equatable {
    var mediaType: String
    var parameters: [String: String]

    init(_ value: String) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" {
                quoted.toggle()
                continue
            }
            if character == ";", !quoted {
                pieces.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        pieces.append(current)
        mediaType = pieces[0].trimmingCharacters(in: .whitespaces).lowercased()
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            parameters[name] = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        self.parameters = parameters
    }
}
