import KuvertFixtures
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Email address validation")
struct EmailAddressTests {
    /// Valid input and the address Kuvert stores for it.
    static let valid: [(String, String)] = [
        ("anna@example.se", "anna@example.se"),
        ("Anna.Svensson@Example.SE", "Anna.Svensson@example.se"),
        ("  anna@example.se  ", "anna@example.se"),
        ("a@b.co", "a@b.co"),
        ("first.last@sub.domain.example.com", "first.last@sub.domain.example.com"),
        ("user+tag@example.com", "user+tag@example.com"),
        ("user-name_x@example.com", "user-name_x@example.com"),
        ("!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"),
        ("1234567890@example.com", "1234567890@example.com"),
        ("x@123.example", "x@123.example"),
        ("x@a-b.example", "x@a-b.example"),
        ("x@xn--rksmrgs-5wao1o.se", "x@xn--rksmrgs-5wao1o.se"),
        ("anna@räksmörgås.se", "anna@xn--rksmrgs-5wao1o.se"),
        ("anna@RÄKSMÖRGÅS.SE", "anna@xn--rksmrgs-5wao1o.se"),
        ("kontakt@bücher.de", "kontakt@xn--bcher-kva.de"),
        ("info@münchen.de", "info@xn--mnchen-3ya.de"),
        ("hola@españa.es", "hola@xn--espaa-rta.es"),
        ("user@例え.テスト", "user@xn--r8jz45g.xn--zckzah"),
        ("user@пример.рф", "user@xn--e1afmkfd.xn--p1ai"),
        ("user@例え。テスト", "user@xn--r8jz45g.xn--zckzah"),
        ("åsa@example.se", "åsa@example.se"),
        ("Örjan.Ärlig@example.se", "Örjan.Ärlig@example.se"),
        ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
        ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"),
        // A quoted string holding a dot-atom is that dot-atom: one mailbox.
        ("\"victim\"@example.com", "victim@example.com"),
        ("\"\\victim\"@example.com", "victim@example.com"),
        ("\"\\v\\i\\c\\t\\i\\m\"@example.com", "victim@example.com"),
        ("\"Anna.Svensson\"@Example.SE", "Anna.Svensson@example.se"),
        ("\"åsa+news\"@example.se", "åsa+news@example.se"),
        (String(repeating: "a", count: 64) + "@example.com", String(repeating: "a", count: 64) + "@example.com"),
        ("x@" + String(repeating: "a", count: 63) + ".com", "x@" + String(repeating: "a", count: 63) + ".com"),
        ("x@example.museum", "x@example.museum"),
        ("x@EXAMPLE.com", "x@example.com"),
    ]

    /// Invalid input and the reason given.
    static let invalid: [(String, EmailAddress.Invalid)] = [
        ("", .empty),
        ("   ", .empty),
        ("anna", .missingAt),
        ("anna.example.se", .missingAt),
        ("@example.se", .emptyLocalPart),
        ("anna@", .emptyDomain),
        ("anna@@example.se", .invalidLocalCharacter),
        ("an na@example.se", .invalidLocalCharacter),
        ("anna@exa mple.se", .invalidDomainCharacter),
        (".anna@example.se", .misplacedDot),
        ("anna.@example.se", .misplacedDot),
        ("an..na@example.se", .misplacedDot),
        ("anna@example..se", .emptyDomainLabel),
        ("anna@.example.se", .emptyDomainLabel),
        ("anna@example.se.", .emptyDomainLabel),
        ("anna@-example.se", .hyphenAtLabelEdge),
        ("anna@example-.se", .hyphenAtLabelEdge),
        ("anna@localhost", .domainWithoutDot),
        ("anna@[192.168.0.1]", .addressLiteral),
        ("anna@[IPv6:::1]", .addressLiteral),
        ("anna@192.168.0.1", .numericTopLevelDomain),
        ("anna@example.123", .numericTopLevelDomain),
        ("anna@exam_ple.se", .invalidDomainCharacter),
        ("anna@example.se\r\nBcc: victim@example.com", .lineBreak),
        ("anna@example.se\n", .lineBreak),
        ("anna\r@example.se", .lineBreak),
        ("anna\u{0}@example.se", .controlCharacter),
        ("anna@exa\u{0}mple.se", .controlCharacter),
        ("anna\t@example.se", .controlCharacter),
        ("anna\u{7F}@example.se", .controlCharacter),
        ("anna\u{85}@example.se", .controlCharacter),
        ("Anna Svensson <anna@example.se>", .displayName),
        ("<anna@example.se>", .displayName),
        ("anna(comment)@example.se", .invalidLocalCharacter),
        ("an\"na@example.se", .invalidLocalCharacter),
        ("anna,bert@example.se", .invalidLocalCharacter),
        ("anna;bert@example.se", .invalidLocalCharacter),
        ("an[na]@example.se", .invalidLocalCharacter),
        ("anna\u{00A0}@example.se", .invalidLocalCharacter),
        ("anna\u{200B}@example.se", .invalidLocalCharacter),
        ("anna\u{202E}@example.se", .invalidLocalCharacter),
        ("anna\u{FFFD}@example.se", .invalidLocalCharacter),
        ("\"unclosed@example.se", .unbalancedQuote),
        ("\"john doe\"@example.com", .quotedLocalPart),
        ("\"a@b\"@example.com", .quotedLocalPart),
        ("\"quoted\\\"escape\"@example.com", .quotedLocalPart),
        ("\"\"@example.com", .quotedLocalPart),
        ("\".anna\"@example.com", .quotedLocalPart),
        ("\"a..b\"@example.com", .quotedLocalPart),
        ("\"a\"b\"@example.se", .unbalancedQuote),
        ("\"trailing\\\"@example.se", .unbalancedQuote),
        (String(repeating: "a", count: 65) + "@example.com", .localPartTooLong),
        (String(repeating: "å", count: 33) + "@example.com", .localPartTooLong),
        ("x@" + String(repeating: "a", count: 64) + ".com", .domainLabelTooLong),
        ("x@" + String(repeating: "ö", count: 60) + ".se", .domainLabelTooLong),
        ("x@" + Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + ".se", .domainTooLong),
        (
            String(repeating: "a", count: 64) + "@" + Array(repeating: String(repeating: "b", count: 60), count: 4).joined(separator: ".") + ".se",
            .tooLong
        ),
        ("anna@exam☃ple.se", .invalidDomainCharacter),
        ("anna@example.se/path", .invalidDomainCharacter),
        ("anna@ex%41mple.se", .invalidDomainCharacter),
        ("anna@example.se:25", .invalidDomainCharacter),
    ]

    @Test("accepts valid addresses and normalises them", arguments: valid)
    func acceptsValid(input: String, expected: String) throws {
        let address = try EmailAddress(input)
        #expect(address.value == expected)
    }

    @Test("refuses invalid addresses with a precise reason", arguments: invalid)
    func refusesInvalid(input: String, reason: EmailAddress.Invalid) {
        #expect(throws: reason) { try EmailAddress(input) }
    }

    @Test("every reason for refusal is reachable: some address in the table gets each one")
    func everyReasonReachable() {
        let produced = Set(
            Self.invalid.compactMap { input, _ -> EmailAddress.Invalid? in
                do {
                    _ = try EmailAddress(input)
                    return nil
                } catch { return error as? EmailAddress.Invalid }
            }
        )
        #expect(produced == Set(EmailAddress.Invalid.allCases))
    }

    @Test("the identity key folds case of the whole address")
    func keyFoldsCase() throws {
        let first = try EmailAddress("Anna.Svensson@Example.SE")
        let second = try EmailAddress("anna.svensson@example.se")
        #expect(first.value != second.value)
        #expect(first.key == second.key)
    }

    @Test("every refusal has a message a person can act on")
    func reasonsAreWords() {
        for (_, reason) in Self.invalid {
            #expect(reason.description.hasSuffix("."))
            #expect(reason.description.count > 15)
        }
    }

    @Test("punycode matches RFC 3492 reference encodings")
    func punycode() {
        #expect(Punycode.encode("bücher") == "bcher-kva")
        #expect(Punycode.encode("räksmörgås") == "rksmrgs-5wao1o")
        #expect(Punycode.encode("ドメイン名例") == "eckwd4c7cu47r2wf")
        #expect(Punycode.encode("ü") == "tda")
    }

    @Test("every refusal has its Swedish words, not the English ones")
    func swedishRefusals() {
        for problem in EmailAddress.Invalid.allCases {
            #expect(!problem.swedish.isEmpty && problem.swedish != problem.description, "\(problem)")
        }
        #expect(Set(EmailAddress.Invalid.allCases.map(\.swedish)).count == EmailAddress.Invalid.allCases.count)
    }
}
