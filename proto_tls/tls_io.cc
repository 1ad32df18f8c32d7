#include "proto_tls/tls_io.h"

#include <openssl/err.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/base/printable.h"
#include "core/base/result.h"
#include "core/shm/stats.h"
#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {

IoResult TlsIo::map_error(int rc, const char* op) {
  int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return {IoStatus::kWantRead};
    case SSL_ERROR_WANT_WRITE:
      return {IoStatus::kWantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return {IoStatus::kClosed};
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      std::string queued = openssl_drain_errors();
      if (queued.empty() && (saved == 0 || saved == ECONNRESET || saved == EPIPE))
        return {IoStatus::kClosed};
      error_ = strprintf("%s: %s", op, queued.empty() ? strerror(saved) : queued.c_str());
      return {IoStatus::kError};
    }
    default: {
      std::string queued = openssl_drain_errors();
      error_ = strprintf("%s: %s", op, queued.empty() ? "TLS protocol error" : queued.c_str());
      return {IoStatus::kError};
    }
  }
}

TlsIo::TlsIo(SslPtr ssl, std::string client_domain)
    : ssl_(std::move(ssl)), client_domain_(std::move(client_domain)) {
  tune_reads();
}

void TlsIo::tune_reads() {
  // With read-ahead OpenSSL reads as much as its record buffer holds (released again when it
  // is empty: SSL_MODE_RELEASE_BUFFERS), so a burst of records costs one read().
  SSL_set_read_ahead(ssl_.get(), 1);
  if (BIO* rbio = SSL_get_rbio(ssl_.get())) {
    BIO_set_callback_ex(rbio, on_bio);
    BIO_set_callback_arg(rbio, reinterpret_cast<char*>(this));
  }
}

long TlsIo::on_bio(BIO* bio, int oper, const char*, size_t len, int, long, int ret,
                   size_t* processed) {
  if (oper == BIO_CB_READ) {  // before the read: a value <= 0 is returned without reading
    auto* self = reinterpret_cast<TlsIo*>(BIO_get_callback_arg(bio));
    if (self->socket_empty_ && self->event_driven_) {
      BIO_set_retry_read(bio);
      return -1;
    }
  } else if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
    auto* self = reinterpret_cast<TlsIo*>(BIO_get_callback_arg(bio));
    // EOF and errors end the connection anyway; a retry (EAGAIN) is "empty" too.
    self->last_read_short_ = ret <= 0 || processed == nullptr || *processed < len;
    self->socket_empty_ = ret > 0 ? self->last_read_short_ : ret < 0 && BIO_should_retry(bio);
  }
  return ret;
}

bool TlsIo::drained() const {
  if (records_) return records_->drained();
  return last_read_short_ && SSL_has_pending(ssl_.get()) == 0;
}

TlsIo::~TlsIo() {
  handoff_.reset();  // detaches from the SSL before it is freed
}

std::unique_ptr<TlsIo> TlsIo::accept(const ServerTlsContexts& set, std::string_view local_key,
                                     int fd, std::string* error, Tls13Crypto* handoff) {
  std::unique_ptr<TlsIo> io(new TlsIo());
  io->ssl_ = set.new_ssl(local_key, &io->sel_, error);
  if (!io->ssl_) return nullptr;
  openssl_clear_errors();
  if (SSL_set_fd(io->ssl_.get(), fd) != 1) {
    *error = "SSL_set_fd: " + openssl_drain_errors();
    return nullptr;
  }
  SSL_set_accept_state(io->ssl_.get());
  // One ticket after a full handshake (OpenSSL's default is two, for clients that open
  // connections in parallel; a SIP UA keeps one per server): one record and one write less.
  SSL_set_num_tickets(io->ssl_.get(), 1);
  io->tune_reads();
  io->fd_ = fd;
  if (handoff != nullptr) {
    io->crypto_ = handoff;
    io->handoff_ = std::make_unique<Tls13Handoff>(io->ssl_.get());
  }
  return io;
}

void TlsIo::keep_established() {
  SSL* ssl = ssl_.get();
  Established e;
  e.view = TlsConnView::of(ssl);
  e.peer.reset(SSL_get1_peer_certificate(ssl));
  if (X509* local = SSL_get_certificate(ssl); local != nullptr && X509_up_ref(local) == 1)
    e.local.reset(local);
  e.view.peer = e.peer.get();
  e.view.local = e.local.get();
  e.resumed = SSL_session_reused(ssl) == 1;
  // Accepted: the SNI as the ClientHello hook saw it and the domain it chose (their storage
  // is ours and the set's). Outbound: the name we sent, which lives in the SSL, never freed
  // for an outbound connection, and our client domain.
  if (sel_.set != nullptr) {
    e.view.sni = sel_.sni_view();
    if (sel_.domain >= 0) e.view.domain = sel_.set->domain_name(sel_.domain);
  }
  if (!client_domain_.empty()) e.view.domain = client_domain_;
  established_ = std::move(e);
}

void TlsIo::try_hand_off() {
  if (!handoff_ || write_pending_) return;
  std::unique_ptr<Tls13RecordLayer> layer;
  switch (handoff_->take(crypto_, &layer)) {
    case Tls13Handoff::Verdict::kLater:
      return;
    case Tls13Handoff::Verdict::kNever:
      handoff_.reset();
      return;
    case Tls13Handoff::Verdict::kReady:
      break;
  }
  handoff_.reset();
  records_ = std::make_unique<Tls13RecordIo>(fd_, std::move(layer), crypto_);
  records_->carry_read_state(last_read_short_, socket_empty_, event_driven_);
  ssl_.reset();
  stat_add(Proto::kTls, TStat::kRecordHandoffs);
}

bool TlsIo::session_resumed() const {
  return established_ && established_->resumed;
}

bool TlsIo::peer_verify_failed() const {
  // Asked when a handshake failed, while the SSL is there.
  if (established_) return established_->view.verify != X509_V_OK;
  return SSL_get_verify_result(ssl_.get()) != X509_V_OK;
}

IoResult TlsIo::handshake() {
  openssl_clear_errors();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    keep_established();
    try_hand_off();
    return {IoStatus::kOk};
  }
  IoResult r = map_error(rc, "handshake");
  if (sel_.refused) {
    stat_add(Proto::kTls, TStat::kSniUnmatched);
    error_ = strprintf("no tls_mgm server domain matches SNI '%s' (unrecognized_name)",
                       sel_.sni_len > 0 ? printable(sel_.sni_view()).c_str() : "<none>");
    return {IoStatus::kError};
  }
  if (sel_.bad_sni) {
    error_ = "malformed server_name extension";
    return {IoStatus::kError};
  }
  if (r.status == IoStatus::kError) {
    long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK)
      error_ += strprintf(" (peer certificate: %s)", X509_verify_cert_error_string(verify));
  }
  // A peer that goes away mid-handshake did not complete it: report it as a failure.
  if (r.status == IoStatus::kClosed) {
    error_ = "handshake: peer closed the connection";
    r.status = IoStatus::kError;
  }
  return r;
}

IoResult TlsIo::read(char* buf, size_t cap) {
  if (records_) return records_->read(buf, cap);
  openssl_clear_errors();
  size_t n = 0;
  int rc = SSL_read_ex(ssl_.get(), buf, cap, &n);
  IoResult r = rc == 1 ? IoResult{IoStatus::kOk, n} : map_error(rc, "read");
  // The hand-off waits for a read that leaves OpenSSL nothing: the usual end of an event.
  if (handoff_ && (r.status == IoStatus::kWantRead || (r.status == IoStatus::kOk && drained())))
    try_hand_off();
  return r;
}

IoResult TlsIo::write(const char* buf, size_t len) {
  if (records_) return records_->write(buf, len);
  openssl_clear_errors();
  size_t n = 0;
  int rc = SSL_write_ex(ssl_.get(), buf, len, &n);
  if (rc == 1) {
    if (write_pending_) {
      write_pending_ = false;
      try_hand_off();
    }
    return {IoStatus::kOk, n};
  }
  IoResult r = map_error(rc, "write");
  write_pending_ = r.status == IoStatus::kWantWrite || r.status == IoStatus::kWantRead;
  return r;
}

void TlsIo::describe(ConnInfo* info) const {
  TlsConnView v = tls_view();
  snprintf(info->tls_version, sizeof info->tls_version, "%s", v.version ? v.version : "");
  const char* cipher = v.cipher ? SSL_CIPHER_get_name(v.cipher) : nullptr;
  snprintf(info->tls_cipher, sizeof info->tls_cipher, "%s", cipher ? cipher : "");
  info->tls_peer_verified = tls_peer_verified(v);
}

TlsConnView TlsIo::tls_view() const {
  if (established_) return established_->view;
  // Still connecting or in its handshake: what is known already (an outbound connection's
  // client domain, by which a second request finds it).
  TlsConnView v;
  v.tls = true;
  if (!client_domain_.empty()) v.domain = client_domain_;
  return v;
}

void TlsIo::shutdown() {
  // One-way close_notify; never waits for the peer's.
  if (records_) {
    records_->shutdown();
    return;
  }
  if (SSL_is_init_finished(ssl_.get())) {
    openssl_clear_errors();
    SSL_shutdown(ssl_.get());
    openssl_clear_errors();
  }
}

}  // namespace sipsd
