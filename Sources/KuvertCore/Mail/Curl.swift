import CCurl

/// libcurl's easy interface as Kuvert's SMTP and IMAP sessions use it: one
/// global initialisation a process, and options whose refusal is an error
/// naming the setting (a session libcurl would set up other than configured
/// must not run).
enum Curl {
    /// `curl_global_init`, once per process, before any handle exists.
    static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int, _ name: String, _ consequence: String) throws {
        try check(kuvert_curl_set_long(handle, option, value), name, consequence)
    }

    static func set(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String, _ name: String, _ consequence: String) throws {
        try check(kuvert_curl_set_string(handle, option, value), name, consequence)
    }

    /// - Throws: `KuvertError.configuration` naming the setting libcurl refused, why, and `consequence`.
    static func check(_ code: CURLcode, _ name: String, _ consequence: String) throws {
        guard code == CURLE_OK else {
            throw KuvertError.configuration(
                "libcurl refused \(name): \(String(cString: curl_easy_strerror(code))) (curl \(code.rawValue)); \(consequence)."
            )
        }
    }
}
