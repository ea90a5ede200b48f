import Foundation

/// Writes header lines and quoted-printable bodies with CRLF line endings.
struct MIMEWriter {
    private(set) var bytes: [UInt8] = []

    /// Longest line written, excluding CRLF: RFC 5322's recommended 78.
    static let lineLimit = 78

    mutating func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(contentsOf: [0x0D, 0x0A])
    }

    /// Writes `Name: value`, folding at spaces to keep lines within the limit.
    /// - Throws: `.headerInjection` when the value holds a control character.
    mutating func header(_ name: String, _ value: String) throws(MailMessage.Problem) {
        guard !value.unicodeScalars.contains(where: \.isControlCharacter),
              !name.unicodeScalars.contains(where: { $0.isControlCharacter || $0 == ":" || $0 == " " })
        else { throw .headerInjection(header: name) }
        if name.utf8.count + 2 + value.utf8.count <= Self.lineLimit {
            line(name + ": " + value)
            return
        }
        var current = name + ":"
        for word in value.split(separator: " ", omittingEmptySubsequences: false) {
            if current.utf8.count + 1 + word.utf8.count > Self.lineLimit, current.contains(where: { $0 != " " }),
               current.utf8.count > name.utf8.count + 1 {
                line(current)
                current = ""
            }
            current += " " + word
        }
        line(current)
    }

    /// Text for an unstructured header: as it is when printable ASCII, else RFC
    /// 2047 encoded words (`=?UTF-8?B?…?=`) that never split a character.
    static func encodedText(_ text: String, header: String) throws(MailMessage.Problem) -> String {
        guard !text.unicodeScalars.contains(where: \.isControlCharacter) else { throw .headerInjection(header: header) }
        if text.unicodeScalars.allSatisfy({ $0.isASCII }) && !text.contains("=?") { return text }
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
        guard !name.unicodeScalars.contains(where: \.isControlCharacter) else { throw .headerInjection(header: header) }
        if !name.unicodeScalars.allSatisfy({ $0.isASCII }) { return try encodedText(name, header: header) }
        let specials = Set("()<>[]:;@\\,.\"".unicodeScalars)
        if !name.unicodeScalars.contains(where: { specials.contains($0) }) { return name }
        return "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The phrase of a List-Id header: the list's name as a quoted string, or
    /// encoded words when it is not ASCII.
    static func listIdPhrase(_ name: String) -> String {
        let clean = String(name.unicodeScalars.filter { !$0.isControlCharacter }.map(Character.init))
        if !clean.unicodeScalars.allSatisfy({ $0.isASCII }) { return (try? encodedText(clean, header: "List-Id")) ?? "" }
        return "\"" + clean.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Appends `text` as quoted-printable (RFC 2045 section 6.7) with CRLF line
    /// breaks; any of CRLF, CR or LF in `text` is a line break.
    mutating func quotedPrintable(_ text: String) {
        let hex: StaticString = "0123456789ABCDEF"
        var width = 0
        let input = Array(text.utf8)
        var index = 0
        bytes.reserveCapacity(bytes.count + input.count + input.count / 8)
        while index < input.count {
            let byte = input[index]
            if byte == 0x0D || byte == 0x0A {
                bytes.append(0x0D); bytes.append(0x0A)
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
                bytes.append(UInt8(ascii: "=")); bytes.append(0x0D); bytes.append(0x0A)
                width = 0
            }
            if literal {
                bytes.append(byte)
            } else {
                hex.withUTF8Buffer { digits in
                    bytes.append(UInt8(ascii: "=")); bytes.append(digits[Int(byte >> 4)]); bytes.append(digits[Int(byte & 0x0F)])
                }
            }
            width += count
            index += 1
        }
        bytes.append(0x0D); bytes.append(0x0A)
    }
}
