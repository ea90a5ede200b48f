import Hummingbird
import KuvertCore

/// A failure as the web answers it: status, a stable code for JSON clients and a
/// message for people. This is the only place Core errors become status codes.
struct WebError: Error, Equatable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// The message for a Swedish page; JSON clients get `message`.
    var swedish: String?

    init(status: HTTPResponse.Status, code: String, message: String, swedish: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.swedish = swedish
    }

    /// The message in a page's language.
    func message(in language: Language) -> String {
        language == .sv ? swedish ?? message : message
    }

    init(_ problem: FormFields.Problem) {
        switch problem {
        case .unsupportedMediaType:
            self.init(
                status: .unsupportedMediaType,
                code: "unsupported_media_type",
                message: "Send the form as application/x-www-form-urlencoded or application/json.",
                swedish: "Formuläret skickades i ett format som inte stöds."
            )
        case .tooLarge(let limit):
            self.init(
                status: .contentTooLarge,
                code: "body_too_large",
                message: "The request body is larger than \(limit) bytes.",
                swedish: "Formuläret är större än \(limit) byte."
            )
        case .malformed(let message):
            self.init(status: .badRequest, code: "malformed_body", message: message, swedish: "Formuläret kunde inte läsas.")
        case .duplicate(let name):
            self.init(
                status: .unprocessableContent,
                code: "duplicate_field",
                message: "The field '\(Self.clip(name))' is given more than once.",
                swedish: "Fältet '\(Self.clip(name))' finns mer än en gång."
            )
        case .notAString(let name):
            self.init(
                status: .unprocessableContent,
                code: "invalid_field",
                message: "The field '\(Self.clip(name))' must be a string.",
                swedish: "Fältet '\(Self.clip(name))' måste vara text."
            )
        case .tooSlow(let seconds):
            self.init(
                status: .requestTimeout,
                code: "request_timeout",
                message: "The request body did not arrive within \(seconds) seconds.",
                swedish: "Formuläret kom inte fram inom \(seconds) sekunder. Försök igen."
            )
        case .unknownField(let name):
            self.init(
                status: .unprocessableContent,
                code: "unknown_field",
                message: "The field '\(Self.clip(name))' is not one this route reads.",
                swedish: "Fältet '\(Self.clip(name))' hör inte till formuläret."
            )
        case .tooManyFields:
            self.init(
                status: .unprocessableContent,
                code: "too_many_fields",
                message: "The form has more than \(FormFields.maximumFieldCount) fields.",
                swedish: "Formuläret har fler än \(FormFields.maximumFieldCount) fält."
            )
        }
    }

    /// The web answer for a domain error; nil for errors that are not the client's fault.
    init?(_ error: KuvertError) {
        switch error {
        case .invalidAddress(let problem):
            self.init(status: .unprocessableContent, code: "invalid_email", message: error.description, swedish: problem.swedish)
        case .invalidField(let name, _):
            let field = ["email": "E-postadress", "name": "Namn", "list": "Lista", "locale": "Språk"][name] ?? Self.clip(name)
            self.init(
                status: .unprocessableContent,
                code: "invalid_field",
                message: error.description,
                swedish: name == "name"
                    ? "Namnet får vara högst \(SubscribeForm.maximumNameLength) tecken på en rad."
                    : "Kontrollera fältet \(field)."
            )
        case .unknownList(let slug):
            self.init(
                status: .unprocessableContent,
                code: "unknown_list",
                message: error.description,
                swedish: "Det finns ingen lista som heter '\(Self.clip(slug))'."
            )
        case .noDefaultList:
            self.init(
                status: .unprocessableContent,
                code: "unknown_list",
                message: "This service has no list to subscribe to yet.",
                swedish: "Här finns ingen lista att prenumerera på ännu."
            )
        case .listExists, .invalidSlug, .unknownSubscriber, .unknownCampaign, .campaignState, .configuration, .apiTokenExists,
            .termsUnchanged, .termsChangeOpen:
            return nil
        }
    }

    private static func clip(_ name: String) -> String {
        String(name.unicodeScalars.filter { !$0.properties.isWhitespace || $0 == " " }.prefix(40).map(Character.init))
    }
}
