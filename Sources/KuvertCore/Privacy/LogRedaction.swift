import Foundation

/// Keeps personal data out of the application log.
public enum LogRedaction {
    /// `text` with every email address replaced by `<address>`: SMTP replies
    /// often quote the recipient ("550 <anna@example.se>: unknown").
    public static func addresses(in text: String) -> String {
        text.replacingOccurrences(
            of: #"[^\s<>@"]+@[^\s<>@"]+"#, with: "<address>", options: .regularExpression)
    }
}
