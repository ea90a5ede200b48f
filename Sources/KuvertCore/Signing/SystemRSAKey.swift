import CLibcrypto
import Foundation

/// An RSA private key in the system's OpenSSL, which signs DKIM's
/// `rsa-sha256` in less than half the time swift-crypto's BoringSSL takes on
/// this project's machines (`openssl speed rsa2048`: about 240 µs a signature
/// on a core, against about 570 in BoringSSL's bignum code in a worker's profile).
/// PKCS#1 v1.5 signatures are deterministic: both libraries make the same
/// bytes for the same key and digest, and a test holds them to it.
///
/// The key is read-only once loaded; each signature has a context of its own,
/// so sessions sign on their threads at once.
final class SystemRSAKey: @unchecked Sendable {
    private let key: OpaquePointer

    /// The key from its PEM form (PKCS#8 or PKCS#1).
    init(pem: String) throws {
        let bytes = Array(pem.utf8)
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let loaded, EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else {
            if let loaded { EVP_PKEY_free(loaded) }
            throw SystemRSAKeyError.failed(nil)
        }
        key = loaded
    }

    deinit { EVP_PKEY_free(key) }

    /// The PKCS#1 v1.5 signature of a SHA-256 digest.
    func signature(digest: [UInt8]) throws -> Data {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw SystemRSAKeyError.failed("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_sign_init(context) == 1 else { throw SystemRSAKeyError.failed("EVP_PKEY_sign_init") }
        guard EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 else {
            throw SystemRSAKeyError.failed("EVP_PKEY_CTX_set_rsa_padding")
        }
        guard EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1 else {
            throw SystemRSAKeyError.failed("EVP_PKEY_CTX_set_signature_md")
        }
        var length = 0
        guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1 else { throw SystemRSAKeyError.failed("EVP_PKEY_sign") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(context, &signature, &length, digest, digest.count) == 1 else {
            throw SystemRSAKeyError.failed("EVP_PKEY_sign")
        }
        return Data(signature.prefix(length))
    }
}

/// A key OpenSSL cannot read as RSA (`call` nil), or a call of its that failed.
/// Made after OpenSSL's error queue of the thread is emptied: libcurl, on the
/// same threads, reads that queue to explain its own TLS failures.
struct SystemRSAKeyError: Error, CustomStringConvertible {
    let call: String?

    static func failed(_ call: String?) -> SystemRSAKeyError {
        ERR_clear_error()
        return SystemRSAKeyError(call: call)
    }

    var description: String { call.map { "OpenSSL's \($0) failed" } ?? "OpenSSL cannot read the RSA key" }
}
