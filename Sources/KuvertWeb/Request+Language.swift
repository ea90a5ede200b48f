import Hummingbird
import KuvertCore

extension Request {
    /// The best supported language of the `Accept-Language` header, if any.
    var browserLanguage: Language? {
        headers[.acceptLanguage].flatMap(Language.preferred(acceptLanguage:))
    }

    /// Whether to answer in JSON: JSON bodies get JSON; so do clients that ask
    /// for JSON and not HTML, and clients that send an unknown type without
    /// asking for HTML.
    var prefersJSON: Bool {
        let accept = headers[.accept] ?? ""
        switch FormFields.encoding(of: self) {
        case .json: return true
        case .form: return accept.contains("application/json") && !accept.contains("text/html")
        case nil: return !accept.contains("text/html")
        }
    }
}
