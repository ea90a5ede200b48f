import Foundation

/// Keeps personal data out of the application log.
public enum LogRedaction {
    /// `text` with every email address replaced by `<address>`: SMTP replies
    /// often quote the recipient ("550 <anna@example.se>: unknown"), and a
    /// quoted local part (`"a b"@x`) is redacted whole.
    public static func addresses(in text: String) -> String {
        text.replacingOccurrences(
            of: #"(?:"(?:[^"\\\r\n]|\\.)*"|[^\s<>@"]+)@[^\s<>@"]+"#,
            with: "<address>",
            options: .regularExpression
        )
    }
}
