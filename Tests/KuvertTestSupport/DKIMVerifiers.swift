import Foundation

/// Two DKIM verifiers that share no code with Kuvert: dkimpy and OpenDKIM's
/// test mode, given the published records instead of DNS
/// (`Tests/Support/dkim_verify.py`).
public enum DKIMVerifiers {
    public struct Signature: Decodable, Sendable {
        public var a: String
        public var d: String
        public var s: String
        /// The signed header names, in order, lower case.
        public var h: [String]
        /// dkimpy's verdict.
        public var dkimpy: Bool
    }

    public struct Report: Decodable, Sendable {
        public var signatures: [Signature]
        /// What `opendkim -t` printed for each signature, in order.
        public var opendkim: [String]

        /// OpenDKIM's verdict on each signature: it exits 0 either way, so its
        /// line is what tells (`verification (s=…, d=…, 2048-bit key) succeeded`).
        public var openDKIMVerdicts: [Bool] {
            zip(signatures, opendkim).map { signature, line in
                line.contains("verification (s=\(signature.s), d=\(signature.d)") && line.hasSuffix("succeeded")
            }
        }

        /// Every signature verified by both.
        public var allVerified: Bool {
            !signatures.isEmpty && signatures.allSatisfy(\.dkimpy) && openDKIMVerdicts.allSatisfy { $0 }
                && opendkim.count == signatures.count
        }

        /// No signature verified by either.
        public var noneVerified: Bool {
            !signatures.contains(where: \.dkimpy) && !openDKIMVerdicts.contains(true)
        }
    }

    /// Runs both verifiers over `message`.
    /// - Parameter records: the TXT records, `SELECTOR._domainkey.DOMAIN` to value.
    public static func verify(_ message: Data, records: [String: String]) throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kuvert-dkim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let messageFile = directory.appendingPathComponent("message.eml")
        try message.write(to: messageFile)
        let recordsFile = directory.appendingPathComponent("records")
        try records.map { "\($0.key) \($0.value)\n" }.joined().write(to: recordsFile, atomically: true, encoding: .utf8)
        let result = try TestProcess.run([
            "/usr/bin/python3", TestPaths.root.appendingPathComponent("Tests/Support/dkim_verify.py").path, messageFile.path,
            recordsFile.path, directory.path,
        ])
        guard result.status == 0 else { throw VerifierFailure(output: result.stdout + result.stderr) }
        return try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
    }

    public struct VerifierFailure: Error, CustomStringConvertible {
        public var output: String
        public var description: String { "dkim_verify.py failed: \(output)" }
    }
}
