#include "proto_tls/tls13_handoff.h"

#include <openssl/crypto.h>
#include <openssl/ssl3.h>
#include <openssl/tls1.h>

#include <cstring>
#include <string_view>

#include "tls_mgm/openssl_errors.h"

namespace sipsd {

namespace {

int handoff_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// "<LABEL> <client_random hex> <secret hex>": the secret, when the label is `label`.
bool parse_keylog(std::string_view line, std::string_view label, uint8_t* out, uint8_t* out_len) {
  if (!line.starts_with(label) || line.size() <= label.size() || line[label.size()] != ' ')
    return false;
  const size_t sp = line.rfind(' ');  // the line is NUL-terminated: the secret runs to its end
  size_t n = 0;
  if (OPENSSL_hexstr2buf_ex(out, kTls13MaxSecret, &n, line.data() + sp + 1, '\0') != 1) {
    openssl_clear_errors();
    return false;
  }
  *out_len = static_cast<uint8_t>(n);
  return true;
}

}  // namespace

Tls13Handoff::Tls13Handoff(SSL* ssl) : ssl_(ssl) {
  SSL_set_ex_data(ssl_, handoff_index(), this);
  SSL_set_msg_callback(ssl_, on_message);
  SSL_set_msg_callback_arg(ssl_, this);
}

Tls13Handoff::~Tls13Handoff() {
  detach();
  OPENSSL_cleanse(client_secret_, sizeof client_secret_);
  OPENSSL_cleanse(server_secret_, sizeof server_secret_);
}

void Tls13Handoff::detach() {
  if (ssl_ == nullptr) return;
  SSL_set_msg_callback(ssl_, nullptr);
  SSL_set_msg_callback_arg(ssl_, nullptr);
  SSL_set_ex_data(ssl_, handoff_index(), nullptr);
  ssl_ = nullptr;
}

void Tls13Handoff::keylog_callback(const SSL* ssl, const char* line) {
  auto* self = static_cast<Tls13Handoff*>(SSL_get_ex_data(ssl, handoff_index()));
  if (self == nullptr || line == nullptr) return;
  std::string_view l(line);
  if (!parse_keylog(l, "CLIENT_TRAFFIC_SECRET_0", self->client_secret_, &self->client_secret_len_))
    parse_keylog(l, "SERVER_TRAFFIC_SECRET_0", self->server_secret_, &self->server_secret_len_);
}

void Tls13Handoff::on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                              void* arg) {
  auto* self = static_cast<Tls13Handoff*>(arg);
  if (self == nullptr) return;
  if (content_type == SSL3_RT_HEADER) {
    // Each record's header, as it is written or read (before it is decrypted).
    if (write_p != 0 && self->write_counting_) ++self->write_records_;
    if (write_p == 0 && self->read_counting_) ++self->read_records_;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  // A handshake message, reported after the record(s) that carried it.
  switch (static_cast<const uint8_t*>(buf)[0]) {
    case SSL3_MT_FINISHED:
      // The side that sent it switches to its application traffic keys, sequence 0.
      (write_p != 0 ? self->write_counting_ : self->read_counting_) = true;
      (write_p != 0 ? self->write_records_ : self->read_records_) = 0;
      break;
    case SSL3_MT_KEY_UPDATE:
      self->key_update_ = true;
      break;
    default:
      break;
  }
}

Tls13Handoff::Verdict Tls13Handoff::take(Tls13Crypto* crypto,
                                         std::unique_ptr<Tls13RecordLayer>* layer) {
  if (ssl_ == nullptr || !SSL_is_init_finished(ssl_)) return Verdict::kLater;
  if (SSL_version(ssl_) != TLS1_3_VERSION || !SSL_is_server(ssl_)) return Verdict::kNever;
  std::optional<Tls13Suite> suite = tls13_suite_of(SSL_get_current_cipher(ssl_));
  if (!suite) return Verdict::kNever;  // a CCM suite
  // A KeyUpdate made the secrets stale; without both secrets and both Finished there is
  // nothing to take over.
  const size_t hash_len = Tls13Crypto::hash_len(*suite);
  if (key_update_ || client_secret_len_ != hash_len || server_secret_len_ != hash_len ||
      !read_counting_ || !write_counting_)
    return Verdict::kNever;
  // Unread bytes (a partial record) or a close in progress: OpenSSL must finish them first.
  if (SSL_has_pending(ssl_) != 0 || SSL_get_shutdown(ssl_) != 0) return Verdict::kLater;
  std::string error;  // a key derivation failure: the connection simply stays with OpenSSL
  *layer = Tls13RecordLayer::create(crypto, *suite, client_secret_, read_records_, server_secret_,
                                    write_records_, &error);
  if (!*layer) return Verdict::kNever;
  detach();
  return Verdict::kReady;
}

}  // namespace sipsd
