import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An SNS host for the tests (Tests/Support/sns_stand_in.py): https under the
/// name `sns.eu-north-1.amazonaws.com`, with a certificate from a CA of the
/// test's own (made here by openssl), serving the signing certificate of the
/// test's SNS messages and taking subscription confirmations. Kuvert reaches
/// it through libcurl with `caFile` trusted and `connectTo` sending that name
/// to this server's port: the same fetch as from the real host.
public final class SNSStandIn: @unchecked Sendable {
    // @unchecked: `process` and `port` are set in init and read after; stop is called by the one test that owns it.
    public static let host = "sns.eu-north-1.amazonaws.com"
    public let directory: String
    public private(set) var port = 0
    private var process: Process?

    /// Where the signing certificate is, as SNS names it in `SigningCertURL`.
    public var certificateURL: String { "https://\(Self.host)/SimpleNotificationService-kuvert-test.pem" }
    /// The test CA's certificate, which signed the server's.
    public var caFile: String { directory + "/ca.pem" }
    /// libcurl's `CURLOPT_CONNECT_TO` entry: the host's name, this server's port.
    public var connectTo: [String] { ["\(Self.host):443:127.0.0.1:\(port)"] }

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-sns-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeCertificates()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try TestProcess.run(["/usr/bin/openssl"] + arguments)
        guard result.status == 0 else { throw TestProcess.Failure(message: "openssl \(arguments.first ?? ""): \(result.stderr)") }
    }

    private func makeCertificates() throws {
        let path = { (name: String) in self.directory + "/" + name }
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj",
            "/CN=Kuvert test CA",
        ])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=\(Self.host)"])
        try "subjectAltName=DNS:\(Self.host)\n".write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial", "-out",
            path("server.pem"), "-days", "2", "-extfile", path("server.ext"),
        ])
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("signing.key"), "-out", path("signing.pem"), "-days", "2",
            "-subj", "/CN=sns.amazonaws.com",
        ])
    }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SMTPTestServer.python)
        process.arguments = [TestPaths.root.appendingPathComponent("Tests/Support/sns_stand_in.py").path, directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ScriptedServerError.didNotStart("SNS stand-in")
        }
        self.port = port
        self.process = process
    }

    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The signature of `text` by the signing certificate's key, base64, as
    /// SNS makes it: RSA PKCS #1 v1.5 over SHA-1 (version 1) or SHA-256 (version 2).
    public func sign(_ text: String, version: Int = 1) throws -> String {
        let input = directory + "/to-sign-\(UUID().uuidString)"
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let result = try TestProcess.run([
            "/bin/sh", "-c",
            "/usr/bin/openssl dgst -\(version == 1 ? "sha1" : "sha256") -sign '\(directory)/signing.key' '\(input)' | base64 -w0",
        ])
        guard result.status == 0, !result.stdout.isEmpty else { throw TestProcess.Failure(message: "openssl dgst: \(result.stderr)") }
        return result.stdout
    }

    /// The paths requested, in order.
    public func requests() -> [String] {
        ((try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The topic the tests configure (`KUVERT_BOUNCE_WEBHOOK_SES`).
    public static let topic = "arn:aws:sns:eu-north-1:123456789012:kuvert-bounces"

    /// An SNS message as SNS posts it, signed by this host's signing key over the
    /// fields the SNS documentation lists, in its order.
    public func envelope(
        type: String = "Notification",
        message: String,
        topic: String = SNSStandIn.topic,
        version: Int = 1,
        certificateURL: String? = nil,
        tamper: ((inout [String: String]) -> Void)? = nil
    ) throws -> String {
        var fields: [String: String] = [
            "Type": type, "MessageId": UUID().uuidString.lowercased(), "TopicArn": topic, "Message": message,
            "Timestamp": "2026-12-07T06:00:00.000Z", "SignatureVersion": String(version),
            "SigningCertURL": certificateURL ?? self.certificateURL,
        ]
        var order = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if type == "SubscriptionConfirmation" {
            fields["Token"] = "2336412f37fb687f5d51e6e2425c464de"
            fields["SubscribeURL"] =
                "https://\(SNSStandIn.host)/?Action=ConfirmSubscription&TopicArn=\(topic)&Token=2336412f37fb687f5d51e6e2425c464de"
            order = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        }
        let text = order.compactMap { name in fields[name].map { "\(name)\n\($0)\n" } }.joined()
        fields["Signature"] = try sign(text, version: version)
        tamper?(&fields)
        return String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    /// An SES bounce notification, shaped as SES's "notification contents" example.
    public static func sesBounce(type: String, subType: String, status: String?, diagnostic: String?, messageId: String) -> String {
        var recipient: [String: Any] = ["emailAddress": "jane@example.se", "action": "failed"]
        recipient["status"] = status
        recipient["diagnosticCode"] = diagnostic
        let object: [String: Any] = [
            "notificationType": "Bounce",
            "bounce": [
                "bounceType": type, "bounceSubType": subType, "bouncedRecipients": [recipient],
                "timestamp": "2026-12-07T06:00:00.000Z", "feedbackId": "0102017f-\(UUID().uuidString.lowercased())-000000",
                "remoteMtaIp": "127.0.2.0", "reportingMTA": "dsn; e242-8.smtp-out.amazonses.com",
            ],
            "mail": [
                "timestamp": "2026-12-07T05:59:58.000Z", "source": "news@example.se", "messageId": "0102017f-ses-id",
                "destination": ["jane@example.se"], "headersTruncated": false,
                "commonHeaders": ["from": ["news@example.se"], "to": ["jane@example.se"], "messageId": messageId, "subject": "Nyheter"],
            ],
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// An SES complaint notification.
    public static func sesComplaint(_ feedbackType: String?, messageId: String) -> String {
        var complaint: [String: Any] = [
            "complainedRecipients": [["emailAddress": "jane@example.se"]], "timestamp": "2026-12-07T06:00:00.000Z",
            "feedbackId": "0102017f-\(UUID().uuidString.lowercased())", "userAgent": "ExampleCorp Feedback Loop (V0.01)",
        ]
        if let feedbackType { complaint["complaintFeedbackType"] = feedbackType }
        let object: [String: Any] = [
            "notificationType": "Complaint", "complaint": complaint,
            "mail": ["messageId": "0102017f-ses-id", "commonHeaders": ["messageId": messageId]],
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
