import Hummingbird
import KuvertCore

extension Request {
    /// The best supported language of the `Accept-Language` header, if any.
    var browserLanguage: Language? {
        headers[.acceptLanguage].flatMap(Language.preferred(acceptLanguage:))
    }
}
