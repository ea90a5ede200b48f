import NIOCore

/// One line of an LMTP session, without its line break (CRLF, or a bare LF).
struct LMTPLine: Sendable {
    var bytes: [UInt8]
    /// The line went past the limit: `bytes` is empty and the rest was dropped.
    var tooLong: Bool
}

/// Splits the byte stream into lines of at most `maximum` octets. A longer
/// line is dropped as it arrives (memory stays bounded whatever is sent) and
/// reported once, when its line break comes.
struct LMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = LMTPLine

    let maximum: Int
    private var discarding = false

    init(maximum: Int) {
        self.maximum = maximum
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximum {
                discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readBytes(length: length) ?? []
        buffer.moveReaderIndex(forwardBy: 1)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if discarding || line.count > maximum {
            discarding = false
            context.fireChannelRead(wrapInboundOut(LMTPLine(bytes: [], tooLong: true)))
        } else {
            context.fireChannelRead(wrapInboundOut(LMTPLine(bytes: line, tooLong: false)))
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A last line without its break is no command.
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }
}
