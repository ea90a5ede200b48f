import Foundation

/// Writes header lines and quoted-printable bodies with CRLF line endings.
struct MIMEWriter {
    private(set) var bytes: [UInt8] = []

    /// Longest line written, excluding CRLF: RFC 5322's recommended 78.
    static let lineLimit = 78

    /// Appends bytes as they are (already encoded).
    mutating func append(_ encoded: [UInt8]) {
        bytes.append(contentsOf: encoded)
    }

    mutating func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(contentsOf: [0x0D, 0x0A])
    }

    /// Writes `Name: value`, folding at spaces to keep lines within the limit.
    /// - Throws: `.headerInjection` when the value holds a control character.
    mutating func header(_ name: String, _ value: String) throws(MailMessage.Problem) {
        guard !Self.hasControlCharacter(value.utf8),
            !Self.hasControlCharacter(name.utf8), !name.utf8.contains(UInt8(ascii: ":")), !name.utf8.contains(0x20)
        else { throw .headerInjection(header: name) }
        let nameLength = name.utf8.count
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ":"))
        if nameLength + 2 + value.utf8.count <= Self.lineLimit {
            bytes.append(0x20)
            bytes.append(contentsOf: value.utf8)
            bytes.append(0x0D)
            bytes.append(0x0A)
            return
        }
        // Word by word: a word goes on a new line when it would pass the limit
        // and the line holds more than the header's name.
        var value = value
        value.withUTF8 { value in
            var lineStart = bytes.count - nameLength - 1
            var lineHasText = true
            var start = 0
            while start <= value.count {
                var end = start
                while end < value.count && value[end] != 0x20 { end += 1 }
                let lineLength = bytes.count - lineStart
                if lineLength + 1 + (end - start) > Self.lineLimit, lineHasText, lineLength > nameLength + 1 {
                    bytes.append(0x0D)
                    bytes.append(0x0A)
                    lineStart = bytes.count
                    lineHasText = false
                }
                bytes.append(0x20)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: value[start..<end]))
                if end > start { lineHasText = true }
                start = end + 1
            }
        }
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// True for C0 controls, DEL and C1 controls (Unicode's control characters) in UTF-8.
    static func hasControlCharacter(_ utf8: String.UTF8View) -> Bool {
        // Over the string's own storage when it has one (every header of every message comes here).
        utf8.withContiguousStorageIfAvailable(hasControlCharacter) ?? hasControlCharacter(Array(utf8))
    }

    private static func hasControlCharacter<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        var afterC2 = false
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F || (afterC2 && byte >= 0x80 && byte <= 0x9F) { return true }
            afterC2 = byte == 0xC2
        }
        return false
    }

    /// Text for an unstructured header: as it is when printable ASCII, else RFC
    /// 2047 encoded words (`=?UTF-8?B?…?=`) that never split a character.
    static func encodedText(_ text: String, header: String) throws(MailMessage.Problem) -> String {
        // Most subjects and names are printable ASCII: one pass over the bytes says so.
        if isPrintableASCII(text.utf8) && !containsEncodedWordStart(text.utf8) { return text }
        guard !text.unicodeScalars.contains(where: \.isControlCharacter) else { throw .headerInjection(header: header) }
        // 64 characters an encoded word (12 for "=?UTF-8?B??=", 52 of base64 for 39
        // bytes), so that the first fits on a line after a header name.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let encoded = Array(String(character).utf8)
            if chunk.count + encoded.count > 39 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += encoded
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: " ")
    }

    /// A display name: an atom, a quoted string, or encoded words for non-ASCII.
    static func displayName(_ name: String, header: String) throws(MailMessage.Problem) -> String {
        if isPrintableASCII(name.utf8) {
            return name.utf8.contains(where: specials.contains) ? quoted(name) : name
        }
        // Not printable ASCII: a control (refused there) or text for encoded words.
        return try encodedText(name, header: header)
    }

    /// RFC 5322's specials, which an atom cannot hold.
    private static let specials = Set("()<>[]:;@\\,.\"".utf8)

    private static func isPrintableASCII(_ utf8: String.UTF8View) -> Bool {
        utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// Whether `=?` occurs, which a reader would take for an encoded word.
    private static func containsEncodedWordStart(_ utf8: String.UTF8View) -> Bool {
        var afterEquals = false
        for byte in utf8 {
            if afterEquals && byte == UInt8(ascii: "?") { return true }
            afterEquals = byte == UInt8(ascii: "=")
        }
        return false
    }

    /// The phrase of a List-Id header: the list's name as a quoted string, or
    /// encoded words when it is not ASCII.
    static func listIdPhrase(_ name: String) -> String {
        let clean =
            hasControlCharacter(name.utf8)
            ? String(name.unicodeScalars.filter { !$0.isControlCharacter }.map(Character.init)) : name
        if !clean.utf8.allSatisfy({ $0 < 0x80 }) { return (try? encodedText(clean, header: "List-Id")) ?? "" }
        return quoted(clean)
    }

    /// A quoted string: backslashes and quotes escaped.
    private static func quoted(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 }) else { return "\"" + text + "\"" }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Appends `text` as quoted-printable (RFC 2045 section 6.7) with CRLF line
    /// breaks; any of CRLF, CR or LF in `text` is a line break.
    /// - Parameter terminated: end with a line break; false for a piece that
    ///   more encoded text follows (after a soft line break).
    mutating func quotedPrintable(_ text: String, terminated: Bool = true) {
        var text = text
        text.withUTF8 { input in appendQuotedPrintable(input) }
        if terminated {
            bytes.append(0x0D)
            bytes.append(0x0A)
        }
    }

    private mutating func appendQuotedPrintable(_ input: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789ABCDEF"
        var width = 0
        var index = 0
        bytes.reserveCapacity(bytes.count + input.count + input.count / 8)
        while index < input.count {
            let byte = input[index]
            if byte == 0x0D || byte == 0x0A {
                bytes.append(0x0D)
                bytes.append(0x0A)
                width = 0
                index += byte == 0x0D && index + 1 < input.count && input[index + 1] == 0x0A ? 2 : 1
                continue
            }
            // Spaces and tabs are literal except before a line break or at the end.
            let next = index + 1 < input.count ? input[index + 1] : 0x0A
            let endsLine = next == 0x0D || next == 0x0A
            let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !endsLine)
            let count = literal ? 1 : 3
            // Keep room for a soft break "=" within 76 characters.
            if width + count > 75 {
                bytes.append(UInt8(ascii: "="))
                bytes.append(0x0D)
                bytes.append(0x0A)
                width = 0
            }
            if literal {
                bytes.append(byte)
            } else {
                hex.withUTF8Buffer { digits in
                    bytes.append(UInt8(ascii: "="))
                    bytes.append(digits[Int(byte >> 4)])
                    bytes.append(digits[Int(byte & 0x0F)])
                }
            }
            width += count
            index += 1
        }
    }
}
