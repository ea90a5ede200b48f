import Foundation
import KuvertCore

/// A rendered message as a person reads it: its main headers and a part, decoded.
enum MailText {
    static func decoded(_ bytes: [UInt8], html: Bool) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let sections = text.components(separatedBy: "\r\n\r\n")
        let headers = unfold(sections.first ?? "")
        var out = ["Date", "From", "To", "Subject", "List-Unsubscribe"].compactMap { name in
            headers.first { $0.lowercased().hasPrefix(name.lowercased() + ":") }.map(decodeWords)
        }.joined(separator: "\n")
        let type = html ? "text/html" : "text/plain"
        if let start = text.range(of: "Content-Type: \(type); charset=utf-8") {
            // The body starts after the part's headers and runs to the next boundary;
            // it has blank lines of its own.
            let part = text[start.upperBound...]
            let afterHeaders = part.range(of: "\r\n\r\n").map { String(part[$0.upperBound...]) } ?? ""
            let body = afterHeaders.components(separatedBy: "\r\n--").first ?? ""
            out += "\n\n" + quotedPrintable(body)
        }
        return out
    }

    private static func unfold(_ header: String) -> [String] {
        header.replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n")
    }

    /// Decodes `=?UTF-8?B?…?=` words.
    private static func decodeWords(_ line: String) -> String {
        var result = line.replacingOccurrences(of: "?= =?UTF-8?B?", with: "?==?UTF-8?B?")
        while let start = result.range(of: "=?UTF-8?B?"), let end = result.range(of: "?=", range: start.upperBound..<result.endIndex) {
            let data = Data(base64Encoded: String(result[start.upperBound..<end.lowerBound])) ?? Data()
            result.replaceSubrange(start.lowerBound..<end.upperBound, with: String(decoding: data, as: UTF8.self))
        }
        return result
    }

    private static func quotedPrintable(_ body: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(body.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "\r\n", with: "\n").utf8)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "="), index + 2 < input.count,
                let value = UInt8(String(decoding: input[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
