import Foundation

/// What the store's codes mean to the person they are about, in their
/// language: a privacy page says "aktiv" and "via bekräftelsesidan", not
/// `active` and `via confirm-page`. A code without a wording shows as itself.
public enum Wording {
    /// Names as a series: "A, B och C", "A, B and C".
    public static func series(_ names: [String], _ language: Language) -> String {
        guard names.count > 1 else { return names.first ?? "" }
        let conjunction = language == .sv ? " och " : " and "
        return names.dropLast().joined(separator: ", ") + conjunction + (names.last ?? "")
    }

    /// A language's name in that language, for a link to a text in it.
    public static func languageName(_ language: Language) -> String {
        switch language {
        case .sv: "Svenska"
        case .en: "English"
        }
    }

    public static func status(_ code: String, _ language: Language) -> String {
        let words: [String: (sv: String, en: String)] = [
            "pending": ("väntar på bekräftelse", "waiting for confirmation"),
            "active": ("aktiv", "active"),
            "unsubscribed": ("avslutad", "unsubscribed"),
            "bounced": ("stoppad: adressen tar inte emot e-post", "stopped: the address takes no mail"),
            "lapsed": ("upphörd: de nya villkoren godkändes inte i tid", "lapsed: the new terms were not accepted in time"),
        ]
        return pick(words[code], code, language)
    }

    public static func consent(_ code: String, _ language: Language) -> String {
        let words: [String: (sv: String, en: String)] = [
            "requested": ("begärd", "requested"),
            "confirmed": ("bekräftad", "confirmed"),
            "withdrawn": ("avslutad", "withdrawn"),
            "rectified": ("flyttad till ny adress", "moved to a new address"),
            "notified": ("underrättad om nya villkor", "told of new terms"),
            "lapsed": ("upphörd: de nya villkoren godkändes inte i tid", "lapsed: the new terms were not accepted in time"),
        ]
        return pick(words[code], code, language)
    }

    /// Where a consent entry came from. Import sources name their API token
    /// (`import api:crm`): those read as an import.
    public static func source(_ code: String, _ language: Language) -> String {
        let words: [String: (sv: String, en: String)] = [
            "form": ("formuläret", "the form"),
            "api": ("webbplatsens system (API)", "the website's system (API)"),
            "confirm-page": ("bekräftelsesidan", "the confirmation page"),
            "unsubscribe-page": ("avregistreringssidan", "the unsubscribe page"),
            "one-click": ("ett klick i e-postprogrammet", "one click in the mail program"),
            "import": ("en import", "an import"),
            "editor": ("redaktionen, på din begäran", "the editors, at your request"),
            "complaint": ("en anmälan om skräppost", "a spam report"),
            "erasure": ("radering på din begäran", "erasure at your request"),
            "preferences": ("din sida för prenumerationer", "your subscriptions page"),
            "address-change": ("bytet av adress", "the change of address"),
            "notice": ("ett meddelande om nya villkor", "a notice of new terms"),
            "reconsent": ("frågan om nya villkor", "the request to accept new terms"),
        ]
        return pick(words[code] ?? (code.hasPrefix("import ") ? words["import"] : nil), code, language)
    }

    private static func pick(_ words: (sv: String, en: String)?, _ code: String, _ language: Language) -> String {
        guard let words else { return code }
        return language == .sv ? words.sv : words.en
    }
}
