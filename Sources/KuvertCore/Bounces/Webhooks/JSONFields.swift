import Foundation

/// One JSON object's top-level fields as text, for the services whose events
/// are flat objects whose values may come as numbers or strings (SendGrid,
/// Brevo, Mailjet): `fields["time"]` is `"1433333949"` either way.
struct JSONFields: Sendable {
    private let values: [String: String]

    init(_ object: [String: Any]) {
        var values: [String: String] = [:]
        for (name, value) in object {
            switch value {
            case let text as String: values[name] = text
            // JSONSerialization gives booleans as numbers too: `flag` reads either.
            case let number as NSNumber: values[name] = number.stringValue
            default: break
            }
        }
        self.values = values
    }

    subscript(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// Whether a JSON boolean (or 1) is true.
    func flag(_ name: String) -> Bool { ["true", "1"].contains(values[name]) }

    /// The events `read` finds in the objects of `body`.
    static func events(
        _ body: [UInt8],
        _ provider: BounceWebhookProvider,
        _ read: (JSONFields) throws(BounceWebhookError) -> BounceWebhookEvent?
    ) throws(BounceWebhookError) -> [BounceWebhookEvent] {
        var events: [BounceWebhookEvent] = []
        for fields in try objects(body, provider) {
            if let event = try read(fields) { events.append(event) }
        }
        return events
    }

    /// The objects of a body that is one object or an array of them (at most 1,000).
    /// - Throws: `BounceWebhookError.malformed` for anything else.
    static func objects(_ body: [UInt8], _ provider: BounceWebhookProvider) throws(BounceWebhookError) -> [JSONFields] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(body))
        if let object = parsed as? [String: Any] { return [JSONFields(object)] }
        guard let array = parsed as? [Any], let objects = array as? [[String: Any]] else {
            throw .malformed("The body is not \(provider.name)'s event JSON: an object or an array of objects.")
        }
        guard objects.count <= 1_000 else { throw .malformed("At most 1,000 events a POST; this one has \(objects.count).") }
        return objects.map(JSONFields.init)
    }
}
