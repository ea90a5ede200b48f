import Foundation

/// Which peers may tell us the client's address in `X-Forwarded-For`.
public struct TrustedProxies: Sendable {
    private let entries: [String]

    public init(_ entries: [String]) {
        self.entries = entries
    }

    /// Whether `entry` is an IPv4 address, an IPv4 CIDR range or an IPv6 address.
    public static func isValid(_ entry: String) -> Bool {
        let parts = entry.split(separator: "/")
        if parts.count == 2 {
            return ipv4(String(parts[0])) != nil && Int(parts[1]).map { (0...32).contains($0) } == true
        }
        return ipv4(entry) != nil || (entry.contains(":") && entry.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." })
    }

    public func contains(_ address: String) -> Bool {
        entries.contains { entry in
            let parts = entry.split(separator: "/")
            guard parts.count == 2, let bits = Int(parts[1]), let network = Self.ipv4(String(parts[0])),
                let candidate = Self.ipv4(address)
            else { return entry.lowercased() == address.lowercased() }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            return network & mask == candidate & mask
        }
    }

    /// The client's address: the peer itself, unless the peer is a trusted
    /// proxy; then the right-most `X-Forwarded-For` entry that is not one.
    public func clientAddress(peer: String?, forwardedFor: String?) -> String? {
        guard let peer, contains(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return hops.reversed().first { !contains($0) && !$0.isEmpty }.map { String($0.prefix(64)) } ?? peer
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
