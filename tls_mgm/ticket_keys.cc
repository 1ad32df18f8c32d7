#include "tls_mgm/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/base/file_read.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd {

namespace {

constexpr size_t kMinSecret = 32;
constexpr size_t kMaxSecretFile = 64 * 1024;
constexpr char kSalt[] = "sipsd session ticket keys v1";

void to_bytes(const TicketKey& k, unsigned char out[80]) {
  memcpy(out, k.name, 16);
  memcpy(out + 16, k.aes, 32);
  memcpy(out + 48, k.hmac, 32);
}

void from_bytes(const unsigned char in[80], TicketKey* k) {
  memcpy(k->name, in, 16);
  memcpy(k->aes, in + 16, 32);
  memcpy(k->hmac, in + 48, 32);
}

int ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int ticket_callback(SSL* ssl, unsigned char key_name[16], unsigned char iv[16],
                    EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc) {
  auto* store =
      static_cast<const TicketKeyStore*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index()));
  TicketKey current, previous;
  bool has_previous = false;
  if (store == nullptr || !store->read(&current, &previous, &has_previous))
    return enc ? -1 : 0;  // no shared keys: no ticket issued / a full handshake
  const TicketKey* key = &current;
  int rc = 1;
  if (enc) {
    memcpy(key_name, current.name, 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else if (memcmp(key_name, current.name, 16) == 0) {
    key = &current;
    // TLS 1.3 clients use a ticket once (RFC 8446 C.4): send a fresh one after each resumption,
    // or the next reconnect is a full handshake. TLS 1.2 keeps its ticket.
    if (SSL_version(ssl) >= TLS1_3_VERSION) rc = 2;
  } else if (has_previous && memcmp(key_name, previous.name, 16) == 0) {
    key = &previous;
    rc = 2;  // valid, but issue a ticket under the current key
  } else {
    return 0;  // unknown (expired) key: full handshake
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac),
                                        sizeof key->hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  bool ok = EVP_MAC_CTX_set_params(hctx, params) == 1 &&
            (enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key->aes, iv)
                 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key->aes, iv)) == 1;
  OPENSSL_cleanse(&current, sizeof current);
  OPENSSL_cleanse(&previous, sizeof previous);
  return ok ? rc : -1;
}

}  // namespace

Result<TicketKeySource> TicketKeySource::create(const std::string& key_file, int interval_s) {
  TicketKeySource s;
  s.interval_s_ = interval_s;
  if (key_file.empty()) return s;
  struct stat st;
  if (stat(key_file.c_str(), &st) != 0)
    return make_error("tls_mgm: ticket_key_file '" + key_file + "': " + strerror(errno));
  if (st.st_mode & (S_IROTH | S_IWOTH))
    return make_error(
        strprintf("tls_mgm: ticket_key_file '%s' is readable by other users "
                  "(mode %04o); chmod 600 it",
                  key_file.c_str(), static_cast<unsigned>(st.st_mode & 07777)));
  Result<std::string> secret = read_small_file(key_file, kMaxSecretFile);
  if (!secret.ok())
    return make_error("tls_mgm: ticket_key_file '" + key_file + "': " + secret.message());
  s.secret_ = std::move(secret).value();
  if (s.secret_.size() < kMinSecret)
    return make_error(
        strprintf("tls_mgm: ticket_key_file '%s' holds %zu bytes; it needs at "
                  "least %zu random bytes (e.g. openssl rand 48 > FILE)",
                  key_file.c_str(), s.secret_.size(), kMinSecret));
  return s;
}

Result<TicketKey> TicketKeySource::key_for_period(uint64_t k) const {
  TicketKey key;
  if (secret_.empty()) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&key), sizeof key) != 1)
      return make_error("RAND_bytes failed: " + openssl_drain_errors());
    return key;
  }
  unsigned char info[8];
  for (int i = 0; i < 8; ++i) info[i] = static_cast<unsigned char>(k >> (56 - 8 * i));
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* kctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (kctx == nullptr) return make_error("HKDF unavailable: " + openssl_drain_errors());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret_.data()),
                                        secret_.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt),
                                        sizeof kSalt - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof info),
      OSSL_PARAM_construct_end()};
  unsigned char out[80];
  int rc = EVP_KDF_derive(kctx, out, sizeof out, params);
  EVP_KDF_CTX_free(kctx);
  if (rc != 1) return make_error("HKDF failed: " + openssl_drain_errors());
  from_bytes(out, &key);
  OPENSSL_cleanse(out, sizeof out);
  return key;
}

void TicketKeyStore::publish(const TicketKey& current, const TicketKey* previous) {
  uint64_t seq = slot_->seq.load(std::memory_order_relaxed);
  slot_->seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  to_bytes(current, slot_->current);
  if (previous != nullptr) to_bytes(*previous, slot_->previous);
  slot_->has_previous = previous != nullptr;
  slot_->generation.store(slot_->generation.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  slot_->seq.store(seq + 2, std::memory_order_release);
}

bool TicketKeyStore::read(TicketKey* current, TicketKey* previous, bool* has_previous) const {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint64_t seq1 = slot_->seq.load(std::memory_order_acquire);
    if (seq1 & 1) continue;
    if (slot_->generation.load(std::memory_order_relaxed) == 0) return false;
    unsigned char cur[80], prev[80];
    memcpy(cur, slot_->current, sizeof cur);
    memcpy(prev, slot_->previous, sizeof prev);
    bool has = slot_->has_previous;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot_->seq.load(std::memory_order_relaxed) != seq1) continue;
    from_bytes(cur, current);
    from_bytes(prev, previous);
    *has_previous = has;
    OPENSSL_cleanse(cur, sizeof cur);
    OPENSSL_cleanse(prev, sizeof prev);
    return true;
  }
  return false;
}

Result<int64_t> TicketKeyRotator::rotate(int64_t now_unix_ms) {
  int64_t interval_ms = int64_t{source_.interval_s()} * 1000;
  uint64_t period = static_cast<uint64_t>(now_unix_ms / interval_ms);
  if (!period_ || *period_ != period) {
    Result<TicketKey> next = source_.key_for_period(period);
    if (!next.ok()) return next.error();
    std::optional<TicketKey> previous = current_;
    if (!previous && source_.from_file() && period > 0) {
      Result<TicketKey> before = source_.key_for_period(period - 1);
      if (!before.ok()) return before.error();
      previous = *before;
    }
    store_.publish(*next, previous ? &*previous : nullptr);
    current_ = *next;
    period_ = period;
  }
  return static_cast<int64_t>(period + 1) * interval_ms - now_unix_ms;
}

void install_ticket_keys(SSL_CTX* ctx, const TicketKeyStore* store) {
  SSL_CTX_set_ex_data(ctx, ex_index(), const_cast<TicketKeyStore*>(store));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_callback);
}

}  // namespace sipsd
