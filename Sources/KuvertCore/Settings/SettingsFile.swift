import Foundation

/// The file of `--config` / `KUVERT_CONFIG`: `KUVERT_NAME=value` lines, as in a
/// systemd `EnvironmentFile` (so `/etc/kuvert/kuvert.env` serves both). Blank
/// lines and lines starting with `#` or `;` are comments; a value may be
/// wrapped in single or double quotes. Names outside `KUVERT_` are left to the
/// environment and ignored here.
public enum SettingsFile {
    /// The settings the file holds.
    /// - Throws: `KuvertError.configuration`, naming the file and line, for a
    ///   file that cannot be read, a line that is no `NAME=value`, a `KUVERT_`
    ///   name Kuvert does not know (a typo would otherwise go unseen), or a
    ///   secret in a file others may read.
    public static func read(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KuvertError.configuration("Cannot read the configuration file \(path) (KUVERT_CONFIG, --config).")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KuvertError.configuration("The configuration file \(path) is not UTF-8 text.")
        }
        let settings = try parse(text, file: path)
        var info = stat()
        if settings.contains(where: { Settings.isSecret($0.key, value: $0.value) }), stat(path, &info) == 0, info.st_mode & 0o004 != 0 {
            throw KuvertError.configuration(
                String(
                    format: "The configuration file %@ holds a secret and can be read by anyone (mode %o): run chmod o-r %@.",
                    path,
                    info.st_mode & 0o777,
                    path
                )
            )
        }
        return settings
    }

    public static func parse(_ text: String, file: String) throws -> [String: String] {
        var settings: [String: String] = [:]
        // By Character "\r\n" is one grapheme, not "\n": a file written on
        // Windows would be one line whose value ran on into the next lines.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            let place = "\(file) line \(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw KuvertError.configuration("\(place) is no NAME=value line.")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw KuvertError.configuration("\(place) is no NAME=value line.")
            }
            guard name.hasPrefix("KUVERT_") else { continue }
            guard name != "KUVERT_CONFIG" else {
                throw KuvertError.configuration("\(place): KUVERT_CONFIG is no Kuvert setting in a file (a file cannot name another).")
            }
            try Settings.checkName(name, in: place)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            settings[name] = value
        }
        return settings
    }
}
