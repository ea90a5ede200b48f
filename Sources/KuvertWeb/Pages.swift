import Foundation
import Hummingbird
import KuvertCore

/// Renders the public pages, localised, as HTML responses.
struct Pages: Sendable {
    /// Every web template the pages use, in each language.
    static let templateNames: [String] = Language.allCases.flatMap { language in
        ["thanks", "confirm", "welcome", "link-error", "form-error", "unsubscribe"].map { "web.\(language.rawValue).\($0)" }
    }

    let renderer: TemplateRenderer

    func thanks(list: MailingList, language: Language) throws -> Response {
        try page("thanks", ThanksView(listName: list.name), language: language)
    }

    func confirm(
        _ context: ConfirmationContext, token: String, acceptMissing: Bool = false, termsChanged: Bool = false,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let view = ConfirmView(
            listName: context.list.name, termsHTML: TermsRenderer.html(context.terms.body),
            termsVersion: context.terms.version, action: "/confirm/" + token,
            acceptMissing: acceptMissing, termsChanged: termsChanged)
        return try page("confirm", view, language: context.subscription.language, status: status)
    }

    func welcome(_ context: ConfirmationContext, alreadyActive: Bool) throws -> Response {
        let view = WelcomeView(listName: context.list.name, termsVersion: context.terms.version, alreadyActive: alreadyActive)
        return try page("welcome", view, language: context.subscription.language)
    }

    func unsubscribe(list: MailingList, language: Language, token: String, done: Bool) throws -> Response {
        try page("unsubscribe", UnsubscribeView(listName: list.name, action: "/unsubscribe/" + token, done: done), language: language)
    }

    func linkError(_ error: ConfirmationService.LinkError, language: Language) throws -> Response {
        let view = LinkErrorView(
            invalid: error == .invalidLink, expired: error == .expired, noLongerValid: error == .noLongerValid)
        return try page("link-error", view, language: language, status: error == .invalidLink ? .badRequest : .gone)
    }

    func formError(_ error: WebError, email: String?, listSlug: String?, language: Language) throws -> Response {
        let view = FormErrorView(
            message: error.message, showForm: error.status == .unprocessableContent, email: email ?? "",
            listSlug: listSlug.flatMap { MailingList.isValidSlug($0) ? $0 : nil })
        return try page("form-error", view, language: language, status: error.status)
    }

    private func page(_ name: String, _ view: Any, language: Language, status: HTTPResponse.Status = .ok) throws -> Response {
        let html = try renderer.render(view, template: "web.\(language.rawValue).\(name)")
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

struct ThanksView { var listName: String }

struct ConfirmView {
    var listName: String
    var termsHTML: String
    var termsVersion: Int
    var action: String
    var acceptMissing: Bool
    var termsChanged: Bool
}

struct WelcomeView {
    var listName: String
    var termsVersion: Int
    var alreadyActive: Bool
}

struct UnsubscribeView {
    var listName: String
    var action: String
    var done: Bool
}

struct LinkErrorView {
    var invalid: Bool
    var expired: Bool
    var noLongerValid: Bool
    var email = ""
    var listSlug: String?
}

struct FormErrorView {
    var message: String
    var showForm: Bool
    var email: String
    var listSlug: String?
}
