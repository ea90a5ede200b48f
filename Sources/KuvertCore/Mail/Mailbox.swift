import Foundation

/// A sender or recipient as written in a header: an optional display name and an address.
public struct Mailbox: Sendable, Equatable {
    public var name: String?
    public var address: String

    /// Parses `Name <local@domain>` or `local@domain`, as in `KUVERT_FROM`.
    /// - Throws: `MailMessage.Problem.invalidMailbox` for anything else, including line breaks.
    public init(parsing text: String) throws(MailMessage.Problem) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.unicodeScalars.contains(where: \.isControlCharacter) else { throw .invalidMailbox(text) }
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            self.name = name.isEmpty ? nil : name
            self.address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        } else {
            self.name = nil
            self.address = trimmed
        }
        guard Self.isPlausibleAddress(address) else { throw .invalidMailbox(text) }
    }

    public init(name: String?, address: String) {
        self.name = name
        self.address = address
    }

    /// The domain after the last `@`, for Message-IDs.
    public var domain: String {
        // Every message's Message-ID asks: the bytes after the last "@", found
        // from the end (`split` made an array of substrings every time).
        let utf8 = address.utf8
        if let at = utf8.lastIndex(of: UInt8(ascii: "@")), utf8.index(after: at) != utf8.endIndex {
            return String(address[utf8.index(after: at)...])
        }
        return address.split(separator: "@").last.map(String.init) ?? "localhost"
    }

    /// A bare address for the SMTP envelope and headers: one `@`, no spaces,
    /// brackets or control characters. (Configured senders may be local, such as
    /// `newsletter@localhost`, so this is looser than `EmailAddress`.)
    static func isPlausibleAddress(_ address: String) -> Bool {
        // One pass over the bytes: every message's From and To come through here.
        var ats = 0
        var atOffset = 0
        var count = 0
        var ascii = true
        for byte in address.utf8 {
            switch byte {
            case UInt8(ascii: "@"):
                ats += 1
                atOffset = count
            case 0x00..<0x20, 0x7F, UInt8(ascii: " "), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ","): return false
            case 0x80...: ascii = false
            default: break
            }
            count += 1
        }
        guard ats == 1, atOffset > 0, atOffset < count - 1 else { return false }
        // C1 controls are two bytes in UTF-8: only text that is not ASCII can hold one.
        return ascii || !address.unicodeScalars.contains(where: \.isControlCharacter)
    }
}
