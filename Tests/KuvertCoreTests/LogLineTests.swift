import Foundation
import KuvertFixtures
import Logging
import Testing

@testable import KuvertCore
@testable import KuvertSQLite

@Suite("Log lines")
struct LogLineTests {
    @Test("text and JSON lines; addresses and link tokens never get through")
    func lines() throws {
        let sink = LogSink.memory()
        var logger = Logger(label: "test") { KuvertLogHandler(label: $0, format: .text, level: .info, output: sink) }
        logger[metadataKey: "hb.request.id"] = "abc123"
        logger.info(
            "refused anna@example.se",
            metadata: [
                "path": "/confirm/eyJhbGciOiJIUzI1NiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ", "list": "news", "note": "two words",
            ]
        )
        logger.debug("not at info")
        #expect(sink.written.count == 1)
        let line = try #require(sink.written.first)
        #expect(line.hasPrefix("time=20"))
        #expect(line.contains(#" level=info msg="refused <address>" request_id=abc123 list=news note="two words" path=/confirm/{token}"#))

        let json = LogSink.memory()
        let jsonLogger = Logger(label: "test") { KuvertLogHandler(label: $0, format: .json, level: .info, output: json) }
        jsonLogger.warning("quote \" and\nbreak", metadata: ["to": "<bo@example.se>"])
        let written = try #require(json.written.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: String])
        #expect(object["level"] == "warning")
        #expect(object["msg"] == "quote \" and\nbreak")
        #expect(object["to"] == "<<address>>")
    }
}
