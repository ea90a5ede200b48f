import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the client's address,
/// which the consent ledger records.
public struct KuvertRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection, so an early answer can close it (`EarlyAnswerMiddleware`).
    let channel: any Channel
    /// The client's address as `ClientAddressMiddleware` worked it out.
    var resolvedClientIP: String?
    /// The name of the API token the request came with (`APIAuthentication`).
    var apiToken: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }

    /// The client's IP address as text, when known: the peer, or what a trusted
    /// proxy said in `X-Forwarded-For`.
    var clientIP: String? { resolvedClientIP ?? remoteAddress?.ipAddress }
}
