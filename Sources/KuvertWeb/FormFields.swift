import Foundation
import Hummingbird

/// The fields of a request body, from `application/x-www-form-urlencoded` or a
/// flat JSON object of strings; strict about everything else.
struct FormFields: Sendable {
    /// What is wrong with a body, mapped to 400, 413, 415 or 422 by `WebError`.
    enum Problem: Error, Equatable {
        case unsupportedMediaType
        case tooLarge(limit: Int)
        case malformed(String)
        case duplicate(String)
        case notAString(String)
        case tooManyFields
        /// A field the route does not read (the API refuses them; forms ignore them).
        case unknownField(String)
        /// The body did not arrive within the deadline.
        case tooSlow(seconds: Int)
    }

    /// How long a client may take to send a body.
    static let bodyDeadline: Duration = .seconds(10)

    /// How the body was sent, which also decides how errors are answered.
    enum Encoding: Sendable { case form, json }

    static let maximumFieldCount = 32

    let encoding: Encoding
    private let values: [String: String]
    /// The fields a route lets repeat (`list`), every value in order.
    private let repeated: [String: [String]]

    subscript(name: String) -> String? { values[name] }

    /// Whether the body had the field at all (an empty JSON array included).
    func contains(_ name: String) -> Bool { values[name] != nil || repeated[name] != nil }

    /// Every value of a field the route lets repeat, in the order sent.
    func all(_ name: String) -> [String] { repeated[name] ?? values[name].map { [$0] } ?? [] }

    /// Reads and parses a request body of at most `limit` bytes, arriving within
    /// `deadline`. The names in `repeatable` may come more than once (or, in
    /// JSON, as an array of strings); `all` reads them.
    static func read(
        _ request: Request,
        limit: Int,
        deadline: Duration = bodyDeadline,
        repeatable: Set<String> = [],
        maximumFields: Int = maximumFieldCount
    ) async throws(Problem) -> FormFields {
        guard let encoding = encoding(of: request) else { throw .unsupportedMediaType }
        let bytes = Array(try await body(request, limit: limit, deadline: deadline).readableBytesView)
        switch encoding {
        case .form:
            let (values, repeated) = try parseURLEncoded(bytes, repeatable: repeatable, maximumFields: maximumFields)
            return FormFields(encoding: .form, values: values, repeated: repeated)
        case .json:
            let (values, repeated) = try parseJSON(bytes, repeatable: repeatable)
            return FormFields(encoding: .json, values: values, repeated: repeated)
        }
    }

    /// A JSON object of strings as the API reads it, stricter than a form: only
    /// the fields in `allowed`, and no `null`s.
    static func readJSON(
        _ request: Request,
        limit: Int,
        allowed: Set<String>,
        repeatable: Set<String> = []
    ) async throws(Problem) -> FormFields {
        guard encoding(of: request) == .json else { throw .unsupportedMediaType }
        return try json(Array(try await body(request, limit: limit).readableBytesView), allowed: allowed, repeatable: repeatable)
    }

    /// `bytes` read as `readJSON` reads a body.
    static func json(_ bytes: [UInt8], allowed: Set<String>, repeatable: Set<String> = []) throws(Problem) -> FormFields {
        let (values, repeated) = try parseJSON(bytes, nullsAllowed: false, repeatable: repeatable)
        if let unknown = (Array(values.keys) + Array(repeated.keys)).sorted().first(where: { !allowed.contains($0) }) {
            throw .unknownField(unknown)
        }
        return FormFields(encoding: .json, values: values, repeated: repeated)
    }

    /// The raw body of at most `limit` bytes, or `.tooSlow` when it takes longer
    /// than `deadline`: a client trickling its body would otherwise hold its
    /// connection for ever.
    static func body(_ request: Request, limit: Int, deadline: Duration = bodyDeadline) async throws(Problem) -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .tooLarge(limit: limit)
        }
        do {
            return try await collect(request.body, limit: limit, deadline: deadline)
        } catch let problem as Problem {
            throw problem
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw .tooLarge(limit: limit)
        } catch {
            throw .malformed("The request body could not be read.")
        }
    }

    private static func collect(_ body: RequestBody, limit: Int, deadline: Duration) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw Problem.tooSlow(seconds: Int(deadline.components.seconds))
            }
            return buffer
        }
    }

    /// The encoding named by the Content-Type header; nil for any other type.
    static func encoding(of request: Request) -> Encoding? {
        guard let header = request.headers[.contentType] else { return nil }
        switch mediaType(header) {
        case "application/x-www-form-urlencoded": return .form
        case "application/json": return .json
        default: return nil
        }
    }

    /// The media type of a `Content-Type` value: before any parameters, without
    /// surrounding spaces or tabs, in lower case (RFC 9110 section 8.3.1).
    static func mediaType(_ header: String) -> String {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        let type = header.utf8.prefix { $0 != UInt8(ascii: ";") }.drop(while: isSpace)
        let trimmed = type.prefix(type.count - type.reversed().prefix(while: isSpace).count)
        return String(decoding: trimmed.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func parseURLEncoded(
        _ bytes: [UInt8],
        repeatable: Set<String> = [],
        maximumFields: Int = maximumFieldCount
    ) throws(Problem) -> (values: [String: String], repeated: [String: [String]]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("The body is not valid UTF-8.") }
        var values: [String: String] = [:]
        var repeated: [String: [String]] = [:]
        var count = 0
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw .malformed("The form body has broken percent-encoding.")
            }
            count += 1
            guard count <= maximumFields else { throw .tooManyFields }
            if repeatable.contains(name) {
                repeated[name, default: []].append(value)
            } else {
                guard values[name] == nil else { throw .duplicate(name) }
                values[name] = value
            }
        }
        return (values, repeated)
    }

    private static func decode(_ component: Substring) -> String? {
        component.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    static func parseJSON(
        _ bytes: [UInt8],
        nullsAllowed: Bool = true,
        repeatable: Set<String> = []
    ) throws(Problem) -> (values: [String: String], repeated: [String: [String]]) {
        // Only a flat object is meaningful; refusing nesting early keeps hostile
        // documents from costing parser time and stack.
        guard nestingDepth(bytes) <= 2 else { throw .malformed("The JSON body must be one flat object.") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw .malformed("The body is not valid JSON.")
        }
        guard let dictionary = object as? [String: Any] else { throw .malformed("The JSON body must be an object.") }
        guard dictionary.count <= maximumFieldCount else { throw .tooManyFields }
        var values: [String: String] = [:]
        var repeated: [String: [String]] = [:]
        for (name, value) in dictionary {
            switch value {
            case let string as String where repeatable.contains(name): repeated[name] = [string]
            case let string as String: values[name] = string
            case let strings as [Any] where repeatable.contains(name):
                guard strings.count <= maximumFieldCount else { throw .tooManyFields }
                repeated[name] = try strings.map { item throws(Problem) in
                    guard let string = item as? String else { throw .notAString(name) }
                    return string
                }
            case is NSNull where nullsAllowed: continue
            default: throw .notAString(name)
            }
        }
        return (values, repeated)
    }

    /// The deepest nesting of arrays and objects, ignoring brackets in strings.
    private static func nestingDepth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    private init(encoding: Encoding, values: [String: String], repeated: [String: [String]] = [:]) {
        self.encoding = encoding
        self.values = values
        self.repeated = repeated
    }
}
