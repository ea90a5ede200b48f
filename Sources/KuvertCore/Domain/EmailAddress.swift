import Foundation

/// A validated mailbox address in the form Kuvert stores and delivers to.
///
/// Validation follows RFC 5321's mailbox syntax with the RFC 6531 extension for
/// UTF-8 local parts. The domain is case folded and internationalised domains are
/// converted to their ASCII (Punycode) form, so `Anna@Räksmörgås.SE` becomes
/// `Anna@xn--rksmrgs-5wao1o.se`. Display names, comments, address literals and any
/// control character are rejected.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local part as the person typed it (Unicode NFC); the part before `@`.
    public let localPart: String
    /// The domain in lower-case ASCII, internationalised labels as `xn--` labels.
    public let domain: String

    /// The address to deliver to.
    public var value: String { localPart + "@" + domain }

    /// The key that identifies a person: the whole address case folded, so that
    /// `Anna@example.se` and `anna@example.se` are one subscriber.
    public var key: String { localPart.lowercased() + "@" + domain }

    public var description: String { value }

    /// The limits of RFC 5321 section 4.5.3.1, in UTF-8 octets.
    public enum Limits {
        /// Longest local part.
        public static let localPart = 64
        /// Longest domain.
        public static let domain = 255
        /// Longest address: a path is at most 256 octets including its angle brackets.
        public static let address = 254
        /// Longest domain label.
        public static let label = 63
    }

    /// Validates and normalises an address typed into a form.
    ///
    /// Surrounding spaces are ignored; everything else must be a bare mailbox.
    /// - Throws: `EmailAddress.Invalid` naming the first problem found.
    public init(_ input: String) throws(Invalid) {
        let trimmed = Self.trimmingSpaces(input)
        guard !trimmed.isEmpty else { throw .empty }
        // Printable ASCII, as most addresses are, has no control character to look for.
        if !trimmed.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
            let bad = trimmed.unicodeScalars.first(where: \.isControlCharacter)
        {
            throw bad == "\r" || bad == "\n" ? .lineBreak : .controlCharacter
        }
        if trimmed.utf8.contains(UInt8(ascii: "<")) && trimmed.hasSuffix(">") { throw .displayName }
        // The last @ by its byte: an @ is never part of a longer character in UTF-8.
        guard let at = trimmed.utf8.lastIndex(of: UInt8(ascii: "@")) else { throw .missingAt }
        let local = String(trimmed[..<at])
        let domain = String(trimmed[trimmed.utf8.index(after: at)...])
        self.localPart = try Self.validateLocalPart(local)
        self.domain = try Self.normaliseDomain(domain)
        guard localPart.utf8.count + 1 + self.domain.utf8.count <= Limits.address else { throw .tooLong }
    }

    /// The input without leading and trailing U+0020 spaces.
    private static func trimmingSpaces(_ input: String) -> String {
        let bytes = input.utf8
        guard let first = bytes.firstIndex(where: { $0 != 0x20 }), let last = bytes.lastIndex(where: { $0 != 0x20 }) else {
            return ""
        }
        return String(input[first...last])
    }

    // MARK: Local part

    private static func validateLocalPart(_ raw: String) throws(Invalid) -> String {
        guard !raw.isEmpty else { throw .emptyLocalPart }
        // ASCII is its own normal form; only other text pays for Foundation's mapping.
        let local = raw.isASCII ? raw : raw.precomposedStringWithCanonicalMapping
        guard local.utf8.count <= Limits.localPart else { throw .localPartTooLong }
        guard local.hasPrefix("\"") else {
            try validateDotString(local)
            return local
        }
        // A quoted string whose content is a dot-atom is the same mailbox as the
        // dot-atom (RFC 5321 4.1.2: `"anna"@x` and `\"\\anna"@x` are `anna@x`), so
        // it becomes that: one person, one limit, one resend window. Any other
        // quoted string (a space, an @, a quote inside) is a mailbox few systems
        // can deliver to and Kuvert's mailer cannot send to: refused here.
        let content = try validateQuotedString(local)
        guard (try? validateDotString(content)) != nil else { throw .quotedLocalPart }
        return content
    }

    /// `Dot-string = Atom *("." Atom)` with RFC 6531's UTF-8 atext.
    private static func validateDotString(_ local: String) throws(Invalid) {
        let atoms = local.split(separator: ".", omittingEmptySubsequences: false)
        guard !atoms.contains(where: \.isEmpty) else { throw .misplacedDot }
        for scalar in local.unicodeScalars where scalar != "." {
            guard isAtext(scalar) else { throw .invalidLocalCharacter }
        }
    }

    /// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`; returns the content with
    /// its quoted pairs undone.
    private static func validateQuotedString(_ local: String) throws(Invalid) -> String {
        let scalars = Array(local.unicodeScalars)
        guard scalars.count >= 2, scalars.last == "\"" else { throw .unbalancedQuote }
        var content = String.UnicodeScalarView()
        var index = 1
        while index < scalars.count - 1 {
            let scalar = scalars[index]
            if scalar == "\\" {
                index += 1
                guard index < scalars.count - 1, (32...126).contains(scalars[index].value) else {
                    throw .unbalancedQuote
                }
                content.append(scalars[index])
            } else if scalar == "\"" {
                throw .unbalancedQuote
            } else {
                guard isQtext(scalar) else { throw .invalidLocalCharacter }
                content.append(scalar)
            }
            index += 1
        }
        return String(content)
    }

    private static let atextSymbols = Set("!#$%&'*+-/=?^_`{|}~".unicodeScalars)

    private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9": return true
            default: return atextSymbols.contains(scalar)
            }
        }
        return isAcceptableNonASCII(scalar)
    }

    /// `qtextSMTP = %d32-33 / %d35-91 / %d93-126` plus UTF-8.
    private static func isQtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (32...126).contains(scalar.value) && scalar != "\"" && scalar != "\\" }
        return isAcceptableNonASCII(scalar)
    }

    /// UTF-8 that a person can type and read: no separators, formatting marks or
    /// replacement characters that would make two addresses look alike.
    private static func isAcceptableNonASCII(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format,
            .surrogate, .privateUse, .unassigned:
            return false
        default:
            return scalar != "\u{FFFD}"
        }
    }

    // MARK: Domain

    /// Folds case, maps the ideographic full stops to `.` and converts each
    /// internationalised label to Punycode (the mapping half of UTS #46).
    private static func normaliseDomain(_ raw: String) throws(Invalid) -> String {
        guard !raw.isEmpty else { throw .emptyDomain }
        if raw.hasPrefix("[") { throw .addressLiteral }
        let mapped =
            raw.isASCII
            ? raw.lowercased()
            : raw.precomposedStringWithCompatibilityMapping.lowercased()
                .replacingOccurrences(of: "\u{3002}", with: ".")
                .replacingOccurrences(of: "\u{FF0E}", with: ".")
                .replacingOccurrences(of: "\u{FF61}", with: ".")
        let labels = mapped.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw .domainWithoutDot }
        var ascii: [String] = []
        for label in labels {
            ascii.append(try asciiLabel(String(label)))
        }
        // Labels are ASCII by now: a numeric one is digits only.
        guard let top = ascii.last, !top.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { throw .numericTopLevelDomain }
        let domain = ascii.joined(separator: ".")
        guard domain.utf8.count <= Limits.domain else { throw .domainTooLong }
        return domain
    }

    private static func asciiLabel(_ label: String) throws(Invalid) -> String {
        guard !label.isEmpty else { throw .emptyDomainLabel }
        guard !label.hasPrefix("-"), !label.hasSuffix("-") else { throw .hyphenAtLabelEdge }
        let encoded: String
        if label.unicodeScalars.allSatisfy(\.isASCII) {
            guard label.unicodeScalars.allSatisfy(isLetterDigitHyphen) else { throw .invalidDomainCharacter }
            encoded = label
        } else {
            guard label.unicodeScalars.allSatisfy(isIDNAScalar) else { throw .invalidDomainCharacter }
            guard let punycode = Punycode.encode(label) else { throw .domainLabelTooLong }
            encoded = "xn--" + punycode
        }
        guard encoded.utf8.count <= Limits.label else { throw .domainLabelTooLong }
        return encoded
    }

    private static func isLetterDigitHyphen(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-"
    }

    /// Letters, marks and digits of any script, or the ASCII hyphen.
    private static func isIDNAScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return isLetterDigitHyphen(scalar) }
        switch scalar.properties.generalCategory {
        case .lowercaseLetter, .uppercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber:
            return true
        default:
            return false
        }
    }
}

extension String {
    /// True when every byte is ASCII.
    var isASCII: Bool { utf8.allSatisfy { $0 < 0x80 } }
}

extension EmailAddress {
    /// Why an address was refused, in words a person can act on.
    public enum Invalid: Error, Equatable, Sendable, CaseIterable, CustomStringConvertible {
        case empty, tooLong, lineBreak, controlCharacter, displayName, missingAt
        case emptyLocalPart, localPartTooLong, misplacedDot, invalidLocalCharacter, unbalancedQuote, quotedLocalPart
        case emptyDomain, addressLiteral, domainWithoutDot, emptyDomainLabel, hyphenAtLabelEdge
        case invalidDomainCharacter, domainLabelTooLong, domainTooLong, numericTopLevelDomain

        public var description: String {
            switch self {
            case .empty: "Enter an email address."
            case .tooLong: "The address is longer than 254 characters."
            case .lineBreak: "The address contains a line break."
            case .controlCharacter: "The address contains an invisible control character."
            case .displayName: "Enter only the address, without a name or angle brackets."
            case .missingAt: "The address needs an @ between the name and the domain."
            case .emptyLocalPart: "The part before the @ is missing."
            case .localPartTooLong: "The part before the @ is longer than 64 characters."
            case .misplacedDot: "The part before the @ cannot start or end with a dot or have two dots in a row."
            case .invalidLocalCharacter: "The part before the @ contains a character that is not allowed there."
            case .unbalancedQuote: "The quoted part before the @ is not closed properly."
            case .quotedLocalPart: "Enter the address without quotes: a part before the @ that needs them (spaces, a second @) cannot be used."
            case .emptyDomain: "The domain after the @ is missing."
            case .addressLiteral: "Use a domain name after the @, not an IP address."
            case .domainWithoutDot: "The domain after the @ needs a dot, as in example.com."
            case .emptyDomainLabel: "The domain cannot start or end with a dot or have two dots in a row."
            case .hyphenAtLabelEdge: "A part of the domain cannot start or end with a hyphen."
            case .invalidDomainCharacter: "The domain contains a character that is not allowed there."
            case .domainLabelTooLong: "A part of the domain is longer than 63 characters."
            case .domainTooLong: "The domain is longer than 255 characters."
            case .numericTopLevelDomain: "The domain must end in a name, not a number."
            }
        }

        /// The same, in Swedish, for a Swedish form's error page.
        public var swedish: String {
            switch self {
            case .empty: "Skriv en e-postadress."
            case .tooLong: "Adressen är längre än 254 tecken."
            case .lineBreak: "Adressen innehåller en radbrytning."
            case .controlCharacter: "Adressen innehåller ett osynligt styrtecken."
            case .displayName: "Skriv bara adressen, utan namn eller vinkelparenteser."
            case .missingAt: "Adressen behöver ett @ mellan namnet och domänen."
            case .emptyLocalPart: "Delen före @ saknas."
            case .localPartTooLong: "Delen före @ är längre än 64 tecken."
            case .misplacedDot: "Delen före @ kan inte börja eller sluta med en punkt eller ha två punkter i rad."
            case .invalidLocalCharacter: "Delen före @ innehåller ett tecken som inte är tillåtet där."
            case .unbalancedQuote: "Den citerade delen före @ är inte avslutad."
            case .quotedLocalPart: "Skriv adressen utan citattecken: en del före @ som behöver dem (mellanslag, ett andra @) kan inte användas."
            case .emptyDomain: "Domänen efter @ saknas."
            case .addressLiteral: "Skriv ett domännamn efter @, inte en IP-adress."
            case .domainWithoutDot: "Domänen efter @ behöver en punkt, som i exempel.se."
            case .emptyDomainLabel: "Domänen kan inte börja eller sluta med en punkt eller ha två punkter i rad."
            case .hyphenAtLabelEdge: "En del av domänen kan inte börja eller sluta med ett bindestreck."
            case .invalidDomainCharacter: "Domänen innehåller ett tecken som inte är tillåtet där."
            case .domainLabelTooLong: "En del av domänen är längre än 63 tecken."
            case .domainTooLong: "Domänen är längre än 255 tecken."
            case .numericTopLevelDomain: "Domänen måste sluta med ett namn, inte en siffra."
            }
        }
    }
}

extension Unicode.Scalar {
    /// C0 controls, DEL and C1 controls: never part of an address or a header.
    var isControlCharacter: Bool {
        value < 0x20 || (0x7F...0x9F).contains(value)
    }

    /// A control character or a Unicode line or paragraph separator: what
    /// text on one line (a subject, a list's name, a header) must not hold.
    public var breaksOneLineText: Bool {
        isControlCharacter || value == 0x2028 || value == 0x2029
    }
}
