import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The key a client's requests are counted under in the rate limits.
///
/// An IPv4 address is one client. An IPv6 client is given a whole /64 (often
/// far more) by its provider and can draw a new address from it for every
/// request, so it is counted by its first `ipv6PrefixLength` bits
/// (`KUVERT_RATE_LIMIT_IPV6_PREFIX`, 64 by default). An IPv4-mapped IPv6
/// address (`::ffff:192.0.2.1`) is the IPv4 address it maps.
public enum ClientKey {
    /// The rate-limit key for a client's address as text; text that is no IP
    /// address (a proxy's odd header) is its own key.
    public static func key(for address: String, ipv6PrefixLength: Int) -> String {
        // A zone ("fe80::1%eth0") names an interface, not a client.
        let text = address.split(separator: "%", maxSplits: 1).first.map(String.init) ?? address
        guard text.contains(":") else { return address }
        var bytes = in6_addr()
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return address }
        var octets = withUnsafeBytes(of: &bytes) { Array($0) }
        if octets[0..<10].allSatisfy({ $0 == 0 }) && octets[10] == 0xFF && octets[11] == 0xFF {
            return octets[12...].map(String.init).joined(separator: ".")
        }
        let bits = min(max(ipv6PrefixLength, 0), 128)
        for index in 0..<16 {
            let kept = min(max(bits - index * 8, 0), 8)
            octets[index] &= kept == 0 ? 0 : ~UInt8(0) << (8 - kept)
        }
        return octets.lowercaseHex + "/\(bits)"
    }
}
