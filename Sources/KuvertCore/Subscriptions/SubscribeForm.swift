import Foundation

/// The fields of a subscription form exactly as posted, before validation.
public struct SubscribeForm: Sendable, Equatable {
    public var email: String?
    public var list: String?
    /// The second and later lists when the form named several.
    public var moreLists: [String]
    public var name: String?
    public var locale: String?
    /// The honeypot: hidden from people, filled in by bots.
    public var website: String?
    /// Whether the form's signed render time (if it had one) says a person filled it in.
    public var looksHuman: Bool

    public init(
        email: String? = nil,
        list: String? = nil,
        moreLists: [String] = [],
        name: String? = nil,
        locale: String? = nil,
        website: String? = nil,
        looksHuman: Bool = true
    ) {
        self.email = email
        self.list = list
        self.moreLists = moreLists
        self.name = name
        self.locale = locale
        self.website = website
        self.looksHuman = looksHuman
    }

    /// The most lists one request may name.
    public static let maximumLists = 10

    /// The longest name accepted, in characters.
    public static let maximumNameLength = 200
}
