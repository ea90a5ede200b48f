import Hummingbird
import NIOCore

/// Makes sure an answer given before the request body was read (413, 415,
/// 408, 429, 404, 405 ...) reaches the client, at once.
///
/// Many clients (Python's urllib, most HTTP libraries) write the whole body
/// before they read a byte of the answer. Hummingbird drains what a handler
/// left unread on a keep-alive connection, without bound, but on one that asked
/// for `Connection: close` it stops reading and waits for the client to close:
/// such a client waits for ever, stuck writing. So when a handler left part of
/// the body unread, its answer goes out at once; then the rest of the body is
/// read and thrown away (up to `drainLimit` bytes, for at most
/// `drainDeadline`), so a client still writing can finish and read the answer.
/// The connection stays open only for a keep-alive request whose declared body
/// fits the bound and arrived in time; otherwise the answer says
/// `Connection: close` and the connection is closed after the drain.
struct EarlyAnswerMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext
    var drainLimit = 16 * 1024 * 1024
    var drainDeadline: Duration = .seconds(10)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Requests that announce no body have nothing to leave unread.
        guard request.headers[.contentLength].map({ $0 != "0" }) ?? (request.headers[.transferEncoding] != nil) else {
            return try await next(request, context)
        }
        let body = TrackedBody(request.body)
        var request = request
        request.body = RequestBody(asyncSequence: body)
        // Errors arrive here as responses (`ErrorResponseMiddleware` sits inside).
        var response = try await next(request, context)
        guard !body.isRead else { return response }
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let mayKeepOpen = request.headers[.connection]?.lowercased() != "close" && (declared.map { $0 <= drainLimit } ?? false)
        if !mayKeepOpen { response.headers[.connection] = "close" }
        let (channel, limit, deadline) = (context.channel, drainLimit, drainDeadline)
        let answer = response.body
        response.body = ResponseBody(contentLength: answer.contentLength) { writer in
            var drained = false
            defer { if !(mayKeepOpen && drained) { channel.close(promise: nil) } }
            try await answer.write(writer)
            drained = await body.discardRest(limit: limit, deadline: deadline)
        }
        return response
    }
}

/// A request body that remembers whether it was read to its end, so what a
/// handler left unread can be read after it.
///
/// `@unchecked Sendable`: one task at a time iterates it, the handler while it
/// runs and then `EarlyAnswerMiddleware` once the handler has returned (a
/// handler's child tasks are done by then: task groups wait for theirs).
private final class TrackedBody: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    private var iterator: RequestBody.AsyncIterator
    /// The body's end was read.
    private var ended = false
    /// A read failed or was cancelled (as by a body deadline): the stream is
    /// over, but the body did not end, so the connection holds unread bytes.
    private var interrupted = false

    init(_ body: RequestBody) {
        iterator = body.makeAsyncIterator()
    }

    func next() async throws -> ByteBuffer? {
        if ended || interrupted { return nil }
        do {
            let buffer = try await iterator.next()
            if buffer == nil {
                if Task.isCancelled { interrupted = true } else { ended = true }
            }
            return buffer
        } catch {
            interrupted = true
            throw error
        }
    }

    /// True when the body was read to its end.
    var isRead: Bool { ended }

    /// Reads and drops the rest of the body; true when it ended within the bounds.
    func discardRest(limit: Int, deadline: Duration) async -> Bool {
        if ended { return true }
        if interrupted { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var seen = 0
                // The deadline cancels this task: stop then, however fast the client still writes.
                while !Task.isCancelled, let buffer = try? await self.next() {
                    seen += buffer.readableBytes
                    if seen > limit { return false }
                }
                return self.ended
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let body: TrackedBody
        mutating func next() async throws -> ByteBuffer? { try await body.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
}
