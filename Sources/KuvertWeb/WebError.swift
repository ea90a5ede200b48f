import Hummingbird
import KuvertCore

/// A failure as the web answers it: status, a stable code for JSON clients and a
/// message for people. This is the only place Core errors become status codes.
struct WebError: Error, Equatable {
    var status: HTTPResponse.Status
    var code: String
    var message: String

    init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    init(_ problem: FormFields.Problem) {
        switch problem {
        case .unsupportedMediaType:
            self.init(status: .unsupportedMediaType, code: "unsupported_media_type",
                      message: "Send the form as application/x-www-form-urlencoded or application/json.")
        case .tooLarge(let limit):
            self.init(status: .contentTooLarge, code: "body_too_large", message: "The request body is larger than \(limit) bytes.")
        case .malformed(let message):
            self.init(status: .badRequest, code: "malformed_body", message: message)
        case .duplicate(let name):
            self.init(status: .unprocessableContent, code: "duplicate_field", message: "The field '\(Self.clip(name))' is given more than once.")
        case .notAString(let name):
            self.init(status: .unprocessableContent, code: "invalid_field", message: "The field '\(Self.clip(name))' must be a string.")
        case .tooSlow(let seconds):
            self.init(status: .requestTimeout, code: "request_timeout", message: "The request body did not arrive within \(seconds) seconds.")
        case .unknownField(let name):
            self.init(status: .unprocessableContent, code: "unknown_field", message: "The field '\(Self.clip(name))' is not one this route reads.")
        case .tooManyFields:
            self.init(status: .unprocessableContent, code: "too_many_fields", message: "The form has more than \(FormFields.maximumFieldCount) fields.")
        }
    }

    /// The web answer for a domain error; nil for errors that are not the client's fault.
    init?(_ error: KuvertError) {
        switch error {
        case .invalidAddress:
            self.init(status: .unprocessableContent, code: "invalid_email", message: error.description)
        case .invalidField:
            self.init(status: .unprocessableContent, code: "invalid_field", message: error.description)
        case .unknownList:
            self.init(status: .unprocessableContent, code: "unknown_list", message: error.description)
        case .noDefaultList:
            self.init(status: .unprocessableContent, code: "unknown_list", message: "This service has no list to subscribe to yet.")
        case .listExists, .invalidSlug, .unknownSubscriber, .unknownCampaign, .campaignState, .configuration, .apiTokenExists,
             .termsUnchanged:
            return nil
        }
    }

    private static func clip(_ name: String) -> String {
        String(name.unicodeScalars.filter { !$0.properties.isWhitespace || $0 == " " }.prefix(40).map(Character.init))
    }
}
