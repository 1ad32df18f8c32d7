// The TLS 1.3 record protection of one established connection (RFC 8446 §5.2, §7.3), for the
// record hand-off (tls13_handoff.h): once OpenSSL has finished a server handshake, sipsd keeps
// the two application traffic secrets and their sequence numbers (~250 bytes) and frees the
// SSL object (~14 kB with OpenSSL 3.0). Sealing and opening use OpenSSL's AEAD ciphers through
// EVP; this file only frames records, builds nonces, derives keys (HKDF-Expand-Label) and
// handles what a peer may send after the handshake: application data, alerts and KeyUpdate.
// Anything else is a fatal alert, as RFC 8446 says.
//
// Nothing here touches a socket: Tls13RecordIo (tls13_record_io.h) does the I/O.
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls_mgm/openssl_ptr.h"

namespace sipsd {

// The TLS 1.3 cipher suites the hand-off takes; the CCM suites stay with OpenSSL.
enum class Tls13Suite : uint8_t { kAes128GcmSha256, kAes256GcmSha384, kChacha20Poly1305Sha256 };
std::optional<Tls13Suite> tls13_suite_of(const SSL_CIPHER* cipher);

inline constexpr size_t kTls13MaxPlaintext = 16384;                      // 2^14
inline constexpr size_t kTls13MaxCiphertext = kTls13MaxPlaintext + 256;  // 2^14 + 256
inline constexpr size_t kTls13HeaderLen = 5;
inline constexpr size_t kTls13TagLen = 16;
inline constexpr size_t kTls13MaxSecret = 48;  // SHA-384

// What the connections of one worker share (one event at a time): the fetched algorithms, one
// AEAD context that each connection keys for its batch of records, and a read buffer.
class Tls13Crypto {
 public:
  // Null with *error set when this OpenSSL lacks one of the algorithms.
  static std::unique_ptr<Tls13Crypto> create(std::string* error);

  const EVP_CIPHER* cipher(Tls13Suite s) const { return ciphers_[static_cast<size_t>(s)].get(); }
  static const char* digest_name(Tls13Suite s);
  static size_t key_len(Tls13Suite s) { return s == Tls13Suite::kAes128GcmSha256 ? 16 : 32; }
  static size_t hash_len(Tls13Suite s) { return s == Tls13Suite::kAes256GcmSha384 ? 48 : 32; }

  // HKDF-Expand-Label(secret, label, "", out_len) (RFC 8446 §7.1).
  bool expand_label(Tls13Suite s, const uint8_t* secret, size_t secret_len, const char* label,
                    uint8_t* out, size_t out_len) const;

  // The shared context, keyed for `key_id` in the direction asked (enc = seal) with `key`;
  // keying is skipped when it already is. Null on failure.
  EVP_CIPHER_CTX* keyed(Tls13Suite s, uint64_t key_id, const uint8_t* key, bool enc);
  uint64_t next_key_id() { return ++last_key_id_; }

  // Raw records read from a socket: the tail that does not make a whole record is copied out
  // before the event ends.
  std::vector<uint8_t>& read_buffer() { return read_buf_; }
  // Records being sealed for one write; what the socket does not take is copied out.
  std::string& write_buffer() { return write_buf_; }

 private:
  using CipherPtr = std::unique_ptr<EVP_CIPHER, OpenSslDeleter<&EVP_CIPHER_free>>;
  using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<&EVP_CIPHER_CTX_free>>;
  using KdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<&EVP_KDF_free>>;
  Tls13Crypto() = default;

  CipherPtr ciphers_[3];
  KdfPtr hkdf_;
  CipherCtxPtr ctx_;
  uint64_t keyed_id_ = 0;  // 0: not keyed
  bool keyed_enc_ = false;
  uint64_t last_key_id_ = 0;
  std::vector<uint8_t> read_buf_;
  std::string write_buf_;
};

// RFC 8446 alert descriptions this layer sends.
enum class Tls13Alert : uint8_t {
  kNone = 255,
  kCloseNotify = 0,
  kUnexpectedMessage = 10,
  kBadRecordMac = 20,
  kRecordOverflow = 22,
  kIllegalParameter = 47,
  kDecodeError = 50,
  kInternalError = 80,
};

class Tls13RecordLayer {
 public:
  // A server's layer: it reads with the client's application traffic secret and writes with
  // its own, each at the sequence number OpenSSL reached. Null with *error set on failure.
  static std::unique_ptr<Tls13RecordLayer> create(Tls13Crypto* crypto, Tls13Suite suite,
                                                  const uint8_t* read_secret, uint64_t read_seq,
                                                  const uint8_t* write_secret, uint64_t write_seq,
                                                  std::string* error);
  ~Tls13RecordLayer();
  Tls13RecordLayer(const Tls13RecordLayer&) = delete;
  Tls13RecordLayer& operator=(const Tls13RecordLayer&) = delete;

  // Appends to `out` the records that carry `len` bytes of application data (2^14 per record).
  // A KeyUpdate the peer asked for goes first. False (error() says why) on a crypto failure.
  bool seal_data(const char* data, size_t len, std::string* out);
  // Appends an alert record (close_notify is a warning, the rest fatal).
  bool seal_alert(Tls13Alert alert, std::string* out);

  enum class Opened : uint8_t {
    kNeedMore,  // no whole record at the front yet
    kData,      // application data at [data, data + data_len), decrypted in place
    kControl,   // a record for this layer (KeyUpdate, user_canceled): nothing to deliver
    kClosed,    // the peer's close_notify
    kError,     // fatal: error() says why, alert() is what to send the peer (kNone: nothing)
  };
  struct OpenResult {
    Opened what = Opened::kNeedMore;
    size_t consumed = 0;  // bytes of input the record took
    uint8_t* data = nullptr;
    size_t data_len = 0;
  };
  // Opens the record at the front of [in, in + len), in place.
  OpenResult open(uint8_t* in, size_t len);

  const std::string& error() const { return error_; }
  Tls13Alert alert() const { return alert_; }
  Tls13Suite suite() const { return suite_; }
  uint64_t read_seq() const { return read_.seq; }
  uint64_t write_seq() const { return write_.seq; }

 private:
  struct Direction {
    uint8_t secret[kTls13MaxSecret];
    uint8_t key[32];
    uint8_t iv[12];
    uint64_t seq = 0;
    uint64_t key_id = 0;  // Tls13Crypto::keyed() skips re-keying while this stays the same
  };
  Tls13RecordLayer(Tls13Crypto* crypto, Tls13Suite suite) : crypto_(crypto), suite_(suite) {}
  // Sets secret, key and iv from `secret` (sequence number 0 unless set after).
  bool install(Direction* d, const uint8_t* secret);
  // KeyUpdate: the next generation of d's secret (RFC 8446 §7.2).
  bool update(Direction* d);
  bool seal_record(uint8_t type, const uint8_t* data, size_t len, std::string* out);
  OpenResult fail(Tls13Alert alert, std::string why);
  OpenResult on_handshake(const uint8_t* p, size_t n);

  Tls13Crypto* crypto_;
  Tls13Suite suite_;
  bool key_update_due_ = false;  // the peer's KeyUpdate asked for ours
  uint8_t hs_len_ = 0;           // a KeyUpdate split over records: its first bytes
  uint8_t hs_[5] = {};
  Tls13Alert alert_ = Tls13Alert::kNone;
  Direction read_;
  Direction write_;
  std::string error_;
};

}  // namespace sipsd
