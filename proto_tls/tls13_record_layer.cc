#include "proto_tls/tls13_record_layer.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>

#include "core/base/result.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd {

namespace {

constexpr uint8_t kTypeAlert = 21;
constexpr uint8_t kTypeHandshake = 22;
constexpr uint8_t kTypeAppData = 23;
constexpr uint8_t kHandshakeKeyUpdate = 24;
constexpr uint8_t kAlertUserCanceled = 90;

}  // namespace

std::optional<Tls13Suite> tls13_suite_of(const SSL_CIPHER* cipher) {
  if (cipher == nullptr) return std::nullopt;
  switch (SSL_CIPHER_get_protocol_id(cipher)) {
    case 0x1301:
      return Tls13Suite::kAes128GcmSha256;
    case 0x1302:
      return Tls13Suite::kAes256GcmSha384;
    case 0x1303:
      return Tls13Suite::kChacha20Poly1305Sha256;
    default:
      return std::nullopt;
  }
}

std::unique_ptr<Tls13Crypto> Tls13Crypto::create(std::string* error) {
  std::unique_ptr<Tls13Crypto> c(new Tls13Crypto());
  static constexpr const char* kNames[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
  openssl_clear_errors();
  for (size_t i = 0; i < 3; ++i) {
    c->ciphers_[i].reset(EVP_CIPHER_fetch(nullptr, kNames[i], nullptr));
    if (!c->ciphers_[i]) {
      *error = std::string("EVP_CIPHER_fetch ") + kNames[i] + ": " + openssl_drain_errors();
      return nullptr;
    }
  }
  c->hkdf_.reset(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  c->ctx_.reset(EVP_CIPHER_CTX_new());
  if (!c->hkdf_ || !c->ctx_) {
    *error = "HKDF / EVP_CIPHER_CTX_new: " + openssl_drain_errors();
    return nullptr;
  }
  c->read_buf_.resize(kTls13HeaderLen + kTls13MaxCiphertext + 4096);
  return c;
}

const char* Tls13Crypto::digest_name(Tls13Suite s) {
  return s == Tls13Suite::kAes256GcmSha384 ? "SHA384" : "SHA256";
}

bool Tls13Crypto::expand_label(Tls13Suite s, const uint8_t* secret, size_t secret_len,
                               const char* label, uint8_t* out, size_t out_len) const {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
  uint8_t info[2 + 1 + 255 + 1];
  const size_t label_len = strlen(label);
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out_len >> 8);
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + label_len);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = 0;  // empty context
  std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<&EVP_KDF_CTX_free>> kctx(
      EVP_KDF_CTX_new(hkdf_.get()));
  if (!kctx) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest_name(s)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret),
                                        secret_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n), OSSL_PARAM_construct_end()};
  return EVP_KDF_derive(kctx.get(), out, out_len, params) == 1;
}

EVP_CIPHER_CTX* Tls13Crypto::keyed(Tls13Suite s, uint64_t key_id, const uint8_t* key, bool enc) {
  if (keyed_id_ == key_id && keyed_enc_ == enc) return ctx_.get();
  keyed_id_ = 0;
  if (EVP_CipherInit_ex2(ctx_.get(), cipher(s), key, nullptr, enc ? 1 : 0, nullptr) != 1)
    return nullptr;
  keyed_id_ = key_id;
  keyed_enc_ = enc;
  return ctx_.get();
}

std::unique_ptr<Tls13RecordLayer> Tls13RecordLayer::create(Tls13Crypto* crypto, Tls13Suite suite,
                                                           const uint8_t* read_secret,
                                                           uint64_t read_seq,
                                                           const uint8_t* write_secret,
                                                           uint64_t write_seq, std::string* error) {
  std::unique_ptr<Tls13RecordLayer> l(new Tls13RecordLayer(crypto, suite));
  openssl_clear_errors();
  if (!l->install(&l->read_, read_secret) || !l->install(&l->write_, write_secret)) {
    *error = "deriving the traffic keys: " + openssl_drain_errors();
    return nullptr;
  }
  l->read_.seq = read_seq;
  l->write_.seq = write_seq;
  return l;
}

Tls13RecordLayer::~Tls13RecordLayer() {
  OPENSSL_cleanse(&read_, sizeof read_);
  OPENSSL_cleanse(&write_, sizeof write_);
}

bool Tls13RecordLayer::install(Direction* d, const uint8_t* secret) {
  const size_t hash_len = Tls13Crypto::hash_len(suite_);
  if (d->secret != secret) memcpy(d->secret, secret, hash_len);
  d->seq = 0;
  d->key_id = crypto_->next_key_id();
  return crypto_->expand_label(suite_, d->secret, hash_len, "key", d->key,
                               Tls13Crypto::key_len(suite_)) &&
         crypto_->expand_label(suite_, d->secret, hash_len, "iv", d->iv, sizeof d->iv);
}

bool Tls13RecordLayer::update(Direction* d) {
  const size_t hash_len = Tls13Crypto::hash_len(suite_);
  uint8_t next[kTls13MaxSecret];
  if (!crypto_->expand_label(suite_, d->secret, hash_len, "traffic upd", next, hash_len))
    return false;
  bool ok = install(d, next);
  OPENSSL_cleanse(next, sizeof next);
  return ok;
}

namespace {

// The per-record nonce: the IV xor the 64-bit sequence number, left-padded (RFC 8446 §5.3).
void make_nonce(const uint8_t* iv, uint64_t seq, uint8_t* nonce) {
  memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
}

}  // namespace

bool Tls13RecordLayer::seal_record(uint8_t type, const uint8_t* data, size_t len,
                                   std::string* out) {
  if (write_.seq == UINT64_MAX) {
    error_ = "write sequence number exhausted";
    return false;
  }
  const size_t inner = len + 1;
  const size_t clen = inner + kTls13TagLen;
  const size_t at = out->size();
  out->resize(at + kTls13HeaderLen + clen);
  auto* h = reinterpret_cast<uint8_t*>(out->data()) + at;
  h[0] = kTypeAppData;  // opaque_type
  h[1] = 3;
  h[2] = 3;  // legacy_record_version 0x0303
  h[3] = static_cast<uint8_t>(clen >> 8);
  h[4] = static_cast<uint8_t>(clen);
  uint8_t nonce[12];
  make_nonce(write_.iv, write_.seq, nonce);
  EVP_CIPHER_CTX* c = crypto_->keyed(suite_, write_.key_id, write_.key, true);
  int n = 0;
  uint8_t* body = h + kTls13HeaderLen;
  bool ok = c != nullptr && EVP_CipherInit_ex2(c, nullptr, nullptr, nonce, 1, nullptr) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &n, h, kTls13HeaderLen) == 1 &&
            (len == 0 || EVP_EncryptUpdate(c, body, &n, data, static_cast<int>(len)) == 1) &&
            EVP_EncryptUpdate(c, body + len, &n, &type, 1) == 1 &&
            EVP_EncryptFinal_ex(c, body + inner, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, kTls13TagLen, body + inner) == 1;
  if (!ok) {
    error_ = "sealing a record: " + openssl_drain_errors();
    out->resize(at);
    return false;
  }
  ++write_.seq;
  return true;
}

bool Tls13RecordLayer::seal_data(const char* data, size_t len, std::string* out) {
  if (key_update_due_) {
    // KeyUpdate(update_not_requested) under the current key, then the next key (§4.6.3).
    static constexpr uint8_t kKeyUpdate[5] = {kHandshakeKeyUpdate, 0, 0, 1, 0};
    if (!seal_record(kTypeHandshake, kKeyUpdate, sizeof kKeyUpdate, out)) return false;
    if (!update(&write_)) {
      error_ = "KeyUpdate: " + openssl_drain_errors();
      return false;
    }
    key_update_due_ = false;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  constexpr size_t kOverhead = kTls13HeaderLen + 1 + kTls13TagLen;  // + the inner type byte
  out->reserve(out->size() + len + (len / kTls13MaxPlaintext + 1) * kOverhead);
  do {
    size_t n = std::min(len, kTls13MaxPlaintext);
    if (!seal_record(kTypeAppData, p, n, out)) return false;
    p += n;
    len -= n;
  } while (len > 0);
  return true;
}

bool Tls13RecordLayer::seal_alert(Tls13Alert alert, std::string* out) {
  const uint8_t body[2] = {static_cast<uint8_t>(alert == Tls13Alert::kCloseNotify ? 1 : 2),
                           static_cast<uint8_t>(alert)};
  return seal_record(kTypeAlert, body, sizeof body, out);
}

Tls13RecordLayer::OpenResult Tls13RecordLayer::fail(Tls13Alert alert, std::string why) {
  alert_ = alert;
  error_ = std::move(why);
  return {Opened::kError};
}

Tls13RecordLayer::OpenResult Tls13RecordLayer::open(uint8_t* in, size_t len) {
  if (!error_.empty()) return {Opened::kError};  // failed before: nothing more is opened
  if (len < kTls13HeaderLen) return {};
  const size_t clen = (size_t{in[3]} << 8) | in[4];
  if (in[0] != kTypeAppData) {
    // After the handshake every record is protected (a change_cipher_spec is allowed only
    // before the peer's Finished, §5).
    return fail(Tls13Alert::kUnexpectedMessage,
                strprintf("unprotected record of type %u after the handshake", in[0]));
  }
  if (clen > kTls13MaxCiphertext)
    return fail(Tls13Alert::kRecordOverflow, strprintf("record of %zu bytes", clen));
  if (clen < kTls13TagLen + 1)
    return fail(Tls13Alert::kDecodeError, strprintf("record of %zu bytes", clen));
  if (len < kTls13HeaderLen + clen) return {};

  uint8_t nonce[12];
  make_nonce(read_.iv, read_.seq, nonce);
  uint8_t* body = in + kTls13HeaderLen;
  const size_t inner_len = clen - kTls13TagLen;
  EVP_CIPHER_CTX* c = crypto_->keyed(suite_, read_.key_id, read_.key, false);
  int n = 0;
  bool ok = c != nullptr && EVP_CipherInit_ex2(c, nullptr, nullptr, nonce, 0, nullptr) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &n, in, kTls13HeaderLen) == 1 &&
            EVP_DecryptUpdate(c, body, &n, body, static_cast<int>(inner_len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, kTls13TagLen, body + inner_len) == 1 &&
            EVP_DecryptFinal_ex(c, body + inner_len, &n) == 1;
  if (!ok) {
    openssl_clear_errors();
    return fail(Tls13Alert::kBadRecordMac,
                strprintf("bad record mac (record %llu does not decrypt)",
                          static_cast<unsigned long long>(read_.seq)));
  }
  if (read_.seq == UINT64_MAX)
    return fail(Tls13Alert::kInternalError, "read sequence number exhausted");
  ++read_.seq;

  // TLSInnerPlaintext: content, ContentType, zero padding.
  size_t m = inner_len;
  while (m > 0 && body[m - 1] == 0) --m;
  if (m == 0) return fail(Tls13Alert::kUnexpectedMessage, "record without a content type");
  const uint8_t type = body[m - 1];
  --m;
  if (m > kTls13MaxPlaintext)
    return fail(Tls13Alert::kRecordOverflow, strprintf("plaintext of %zu bytes", m));
  if (hs_len_ > 0 && type != kTypeHandshake)
    return fail(Tls13Alert::kUnexpectedMessage, "record interleaved with a split KeyUpdate");

  OpenResult r;
  r.consumed = kTls13HeaderLen + clen;
  switch (type) {
    case kTypeAppData:
      r.what = Opened::kData;
      r.data = body;
      r.data_len = m;
      return r;
    case kTypeAlert:
      if (m != 2) return fail(Tls13Alert::kDecodeError, "malformed alert");
      if (body[1] == static_cast<uint8_t>(Tls13Alert::kCloseNotify)) {
        r.what = Opened::kClosed;
        return r;
      }
      if (body[1] == kAlertUserCanceled) {
        r.what = Opened::kControl;
        return r;
      }
      return fail(Tls13Alert::kNone, strprintf("peer sent alert %u (%s)", body[1],
                                               SSL_alert_desc_string_long(body[1])));
    case kTypeHandshake: {
      OpenResult h = on_handshake(body, m);
      if (h.what == Opened::kError) return h;
      r.what = Opened::kControl;
      return r;
    }
    default:
      return fail(Tls13Alert::kUnexpectedMessage,
                  strprintf("record of content type %u after the handshake", type));
  }
}

Tls13RecordLayer::OpenResult Tls13RecordLayer::on_handshake(const uint8_t* p, size_t n) {
  // The only handshake message a client may send a server after the handshake (no
  // post-handshake authentication is ever requested) is KeyUpdate: 24, length 1, one byte. It
  // may come split over records; hs_ holds its first bytes.
  if (n == 0) return fail(Tls13Alert::kUnexpectedMessage, "empty handshake record");
  const size_t take = std::min(n, sizeof hs_ - hs_len_);
  memcpy(hs_ + hs_len_, p, take);
  hs_len_ = static_cast<uint8_t>(hs_len_ + take);
  if (hs_[0] != kHandshakeKeyUpdate)
    return fail(Tls13Alert::kUnexpectedMessage,
                strprintf("handshake message %u after the handshake", hs_[0]));
  if (hs_len_ >= 4 && (hs_[1] != 0 || hs_[2] != 0 || hs_[3] != 1))
    return fail(Tls13Alert::kDecodeError, "malformed KeyUpdate");
  if (hs_len_ < sizeof hs_) return {Opened::kControl};
  if (hs_[4] > 1) return fail(Tls13Alert::kIllegalParameter, "KeyUpdate request_update > 1");
  // A key change: nothing may follow it in this record (§5.1).
  if (take < n) return fail(Tls13Alert::kUnexpectedMessage, "data after a KeyUpdate");
  if (hs_[4] == 1) key_update_due_ = true;
  hs_len_ = 0;
  if (!update(&read_)) return fail(Tls13Alert::kInternalError, "KeyUpdate: key derivation");
  return {Opened::kControl};
}

}  // namespace sipsd
