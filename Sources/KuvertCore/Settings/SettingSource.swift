import Foundation

/// Where settings are read from: a lookup by variable name (`KUVERT_SMTP_URL`),
/// and the parsers every part of `Settings` reads its values with. Every error
/// is one line that names the setting and says what it must look like.
///
/// The executable backs it with its layers (flags, environment, file); tests
/// with a dictionary.
public struct SettingSource: Sendable {
    private let lookup: @Sendable (String) -> String?

    /// - Parameter lookup: the value of a variable, or nil where none is set.
    public init(_ lookup: @escaping @Sendable (String) -> String?) {
        self.lookup = lookup
    }

    public init(_ values: [String: String]) {
        self.init { values[$0] }
    }

    /// The value of `name`; an empty value counts as unset.
    public func string(_ name: String) -> String? {
        lookup(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A duration such as `90`, `90s`, `15m`, `12h` or `7d`, in seconds.
    public func duration(_ name: String, default value: TimeInterval, allowZero: Bool = false) throws -> TimeInterval {
        guard let text = string(name) else { return value }
        return try Self.duration(text, name: name, allowZero: allowZero)
    }

    /// A whole number in `range`.
    public func count(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = string(name) else { return value }
        guard let count = Int(text), range.contains(count) else {
            throw KuvertError.configuration(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(SettingSource.shown(text))'."
            )
        }
        return count
    }

    /// One of `choices`, as `T`; an error lists them in the order given.
    public func choice<T>(_ name: String, default value: T, _ choices: [(String, T)]) throws -> T {
        guard let text = string(name) else { return value }
        guard let chosen = choices.first(where: { $0.0 == text })?.1 else {
            let names = choices.map { "'\($0.0)'" }
            let list = names.count == 2 ? names.joined(separator: " or ") : "one of " + names.joined(separator: ", ")
            throw KuvertError.configuration("\(name) must be \(list), not '\(SettingSource.shown(text))'.")
        }
        return chosen
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    public func listen(_ name: String) throws -> (host: String, port: Int)? {
        try string(name).map { try Self.listen($0, name: name) }
    }

    /// A duration such as `90`, `90s`, `15m`, `12h` or `7d`, in seconds.
    public static func duration(_ text: String, name: String, allowZero: Bool = false) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            number = number.dropLast()
            unit = factor
        }
        guard let amount = Double(number), amount.isFinite, amount > 0 || (allowZero && amount == 0) else {
            throw KuvertError.configuration(
                "\(name) must be a duration such as 30s, 15m, 12h or 7d, not '\(SettingSource.shown(text))'."
            )
        }
        return amount * unit
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    public static func listen(_ text: String, name: String) throws -> (host: String, port: Int) {
        let problem = KuvertError.configuration("\(name) must be HOST:PORT, such as 127.0.0.1:8080, not '\(SettingSource.shown(text))'.")
        guard let colon = text.lastIndex(of: ":") else { throw problem }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw problem
        }
        return (host, port)
    }

    /// A DNS host name: dot-separated labels of letters, digits and inner hyphens.
    public static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" }
        }
    }

    /// A value as an error message shows it: on one line (control characters
    /// escaped), at most 100 characters.
    public static func shown(_ text: String) -> String {
        let escaped = text.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return escaped.count > 100 ? escaped.prefix(100) + "…" : escaped
    }

    /// A URL as an error message or `doctor` shows it: as `shown`, with any
    /// password in it (`scheme://user:PASSWORD@host`) replaced by `***`.
    public static func shownURL(_ text: String) -> String {
        shown(
            text.replacingOccurrences(
                of: #"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*):[^/?#]*@"#,
                with: "$1:***@",
                options: .regularExpression
            )
        )
    }

    /// True for names of this machine's loopback interface: links to them and
    /// mail through them never leave the machine.
    public static func isLoopback(_ host: String?) -> Bool {
        ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host ?? "")
    }
}
