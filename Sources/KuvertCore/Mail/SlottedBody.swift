import Foundation

/// Marks for the per-message values of a mail rendered once: private-use
/// characters around a per-process random number, so no template or campaign
/// text can contain one by accident.
struct SlotMarkers: Sendable {
    let markers: [String]

    init(count: Int) {
        let nonce = UInt64.random(in: .min ... .max)
        markers = (0..<count).map { "\u{F8F0}\(nonce)-\($0)\u{F8F1}" }
    }
}

/// A rendered body split at its slots, its fixed parts in quoted-printable:
/// rendered and encoded once, filled per message. Each slot's value is encoded
/// alone between soft line breaks, which a reader's decoder removes, so the
/// fixed parts' encoding never depends on a value's length.
struct SlottedBody: Sendable {
    enum Piece: Sendable {
        case encoded([UInt8])
        case slot(Int)
    }
    let pieces: [Piece]

    init(_ rendered: String, slots: [String]) {
        var parts: [Piece] = []
        var texts: [(String, slot: Int?)] = [(rendered, nil)]
        for (number, slot) in slots.enumerated() {
            texts = texts.flatMap { text, after -> [(String, slot: Int?)] in
                let split = text.components(separatedBy: slot)
                return split.enumerated().map { index, part in (part, index == 0 ? after : number) }
            }
        }
        for (text, slot) in texts {
            if let slot { parts.append(.slot(slot)) }
            var writer = MIMEWriter()
            writer.quotedPrintable(text, terminated: false)
            parts.append(.encoded(writer.bytes))
        }
        pieces = parts
    }

    /// The body with each slot's value encoded between soft line breaks, and a final line break.
    func filled(_ values: [String]) -> [UInt8] {
        var out = MIMEWriter()
        for piece in pieces {
            switch piece {
            case .encoded(let bytes): out.append(bytes)
            case .slot(let number):
                out.append(Self.softBreak)
                out.quotedPrintable(values[number], terminated: false)
                out.append(Self.softBreak)
            }
        }
        out.append([0x0D, 0x0A])
        return out.bytes
    }

    private static let softBreak: [UInt8] = [UInt8(ascii: "="), 0x0D, 0x0A]
}
