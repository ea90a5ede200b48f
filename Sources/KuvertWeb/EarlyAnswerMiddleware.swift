import Hummingbird
import NIOCore

/// Makes sure an answer given before the request body was read (413, 415,
/// 408, 429, 404, 405 ...) reaches the client.
///
/// Many clients (Python's urllib, most HTTP libraries) write the whole body
/// before they read a byte of the answer. Hummingbird drains what a handler
/// left unread on a keep-alive connection, but on one that asked for
/// `Connection: close` it stops reading and waits for the client to close:
/// such a client waits for ever, stuck writing. So whatever the handler left
/// unread is read and thrown away here, up to `drainLimit` bytes and for at
/// most `drainDeadline`, before the answer goes; a body beyond either bound
/// gets its answer with `Connection: close`, and the connection is closed once
/// the answer is written.
struct EarlyAnswerMiddleware: RouterMiddleware {
    typealias Context = KuvertRequestContext
    var drainLimit = 16 * 1024 * 1024
    var drainDeadline: Duration = .seconds(1)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Requests that announce no body have nothing to leave unread.
        guard request.headers[.contentLength].map({ $0 != "0" }) ?? (request.headers[.transferEncoding] != nil) else {
            return try await next(request, context)
        }
        let body = TrackedBody(request.body)
        var request = request
        request.body = RequestBody(asyncSequence: body)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        if await body.discardRest(limit: drainLimit, deadline: drainDeadline) { return response }
        let channel = context.channel
        let answer = response.body
        response.headers[.connection] = "close"
        response.body = ResponseBody(contentLength: answer.contentLength) { writer in
            defer { channel.close(promise: nil) }
            try await answer.write(writer)
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

    /// Reads and drops the rest of the body; true when it ended within the bounds.
    func discardRest(limit: Int, deadline: Duration) async -> Bool {
        if ended { return true }
        if interrupted { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var seen = 0
                while let buffer = try? await self.next() {
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
