#include "proto_tls/tls13_record_io.h"

#include <algorithm>
#include <cstring>

#include "proto_tls/tcp_io.h"

namespace sipsd {

namespace {

// Application bytes sealed per write() call: a flush of a long queue goes out in a few
// system calls without the worker's buffer growing past this (plus record overhead).
constexpr size_t kMaxSealPerWrite = 128 * 1024;
// A write buffer grown past this by a burst is given back afterwards.
constexpr size_t kKeepWriteBuffer = 256 * 1024;

}  // namespace

IoResult Tls13RecordIo::end_result() const {
  return {end_ == End::kClosed ? IoStatus::kClosed : IoStatus::kError};
}

IoResult Tls13RecordIo::finish(End end, size_t got) {
  if (end != End::kNone) end_ = end;
  if (got > 0) return {IoStatus::kOk, got};
  if (end_ != End::kNone) return end_result();
  return {IoStatus::kWantRead};
}

bool Tls13RecordIo::tail_has_record() const {
  if (tail_.size() < kTls13HeaderLen) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(tail_.data());
  const size_t clen = (size_t{p[3]} << 8) | p[4];
  return tail_.size() >= kTls13HeaderLen + clen || clen > kTls13MaxCiphertext;
}

bool Tls13RecordIo::drained() const {
  return last_read_short_ && plain_off_ == plain_.size() && end_ == End::kNone &&
         !tail_has_record();
}

Tls13RecordIo::End Tls13RecordIo::open_records(uint8_t* in, size_t len, size_t* pos, char* buf,
                                               size_t cap, size_t* got) {
  while (*got < cap) {
    Tls13RecordLayer::OpenResult r = layer_->open(in + *pos, len - *pos);
    switch (r.what) {
      case Tls13RecordLayer::Opened::kNeedMore:
        return End::kNone;
      case Tls13RecordLayer::Opened::kError:
        error_ = "read: " + layer_->error();
        send_alert(layer_->alert());
        return End::kError;
      case Tls13RecordLayer::Opened::kClosed:
        return End::kClosed;  // anything after the close_notify is ignored
      case Tls13RecordLayer::Opened::kControl:
        break;
      case Tls13RecordLayer::Opened::kData: {
        const size_t n = std::min(r.data_len, cap - *got);
        memcpy(buf + *got, r.data, n);
        *got += n;
        if (n < r.data_len) plain_.assign(r.data + n, r.data + r.data_len);
        break;
      }
    }
    *pos += r.consumed;
  }
  return End::kNone;
}

IoResult Tls13RecordIo::read(char* buf, size_t cap) {
  size_t got = 0;
  if (plain_off_ < plain_.size()) {
    got = std::min(cap, plain_.size() - plain_off_);
    memcpy(buf, plain_.data() + plain_off_, got);
    plain_off_ += got;
    if (plain_off_ == plain_.size()) {
      std::string().swap(plain_);
      plain_off_ = 0;
    }
    if (got == cap) return {IoStatus::kOk, got};
  }
  if (end_ != End::kNone) return finish(End::kNone, got);

  // What is left of the last read first, then the socket, all in the worker's buffer.
  std::vector<uint8_t>& rb = crypto_->read_buffer();
  size_t have = tail_.size();
  size_t pos = 0;
  memcpy(rb.data(), tail_.data(), have);
  std::string().swap(tail_);
  End end = End::kNone;
  for (;;) {
    end = open_records(rb.data(), have, &pos, buf, cap, &got);
    if (end != End::kNone || got > 0) break;
    // No whole record at the front: read on, unless the socket was found empty and no read
    // event has fired since (the level-triggered event reports what arrives).
    if (socket_empty_ && event_driven_) break;
    if (pos > 0) {
      memmove(rb.data(), rb.data() + pos, have - pos);
      have -= pos;
      pos = 0;
    }
    const size_t room = rb.size() - have;
    std::string why;
    IoResult r = socket_recv(fd_, rb.data() + have, room, &why);
    if (r.status == IoStatus::kOk) {
      last_read_short_ = r.bytes < room;
      socket_empty_ = last_read_short_;
      have += r.bytes;
      continue;
    }
    last_read_short_ = true;
    if (r.status == IoStatus::kWantRead) {
      socket_empty_ = true;
    } else if (r.status == IoStatus::kClosed) {
      end = End::kClosed;  // EOF without close_notify: closed all the same, as with OpenSSL
    } else {
      error_ = "read: " + why;
      end = End::kError;
    }
    break;
  }
  if (end == End::kNone && pos < have) tail_.assign(rb.begin() + pos, rb.begin() + have);
  return finish(end, got);
}

IoResult Tls13RecordIo::flush_unsent() {
  std::string why;
  IoResult r = socket_send(fd_, unsent_.data() + unsent_off_, unsent_.size() - unsent_off_, &why);
  if (r.status == IoStatus::kError) error_ = "write: " + why;
  if (r.status != IoStatus::kOk) return r;
  unsent_off_ += r.bytes;
  if (unsent_off_ < unsent_.size()) return {IoStatus::kWantWrite};
  std::string().swap(unsent_);
  unsent_off_ = 0;
  return {IoStatus::kOk};
}

IoResult Tls13RecordIo::write(const char* buf, size_t len) {
  if (unsent_off_ < unsent_.size()) {
    // The retry of a write that returned kWantWrite: its records are sealed already.
    IoResult r = flush_unsent();
    if (r.status != IoStatus::kOk) return r;
    const size_t done = std::min(unsent_plain_, len);
    unsent_plain_ = 0;
    return {IoStatus::kOk, done};
  }
  const size_t n = std::min(len, kMaxSealPerWrite);
  std::string& out = crypto_->write_buffer();
  out.clear();
  if (!layer_->seal_data(buf, n, &out)) {
    error_ = "write: " + layer_->error();
    return {IoStatus::kError};
  }
  std::string why;
  IoResult r = socket_send(fd_, out.data(), out.size(), &why);
  if (r.status == IoStatus::kError) error_ = "write: " + why;
  if (r.status == IoStatus::kClosed || r.status == IoStatus::kError) return r;
  if (r.bytes < out.size()) {
    // The socket buffer is full: keep the sealed rest; the retry sends it.
    unsent_.assign(out, r.bytes);
    unsent_off_ = 0;
    unsent_plain_ = n;
    return {IoStatus::kWantWrite};
  }
  if (out.capacity() > kKeepWriteBuffer) std::string().swap(out);
  return {IoStatus::kOk, n};
}

void Tls13RecordIo::send_alert(Tls13Alert alert) {
  if (alert == Tls13Alert::kNone || unsent_off_ < unsent_.size()) return;
  std::string out, why;
  if (layer_->seal_alert(alert, &out)) socket_send(fd_, out.data(), out.size(), &why);
  // best effort: the connection closes next
}

void Tls13RecordIo::shutdown() {
  if (unsent_off_ < unsent_.size()) flush_unsent();
  send_alert(Tls13Alert::kCloseNotify);
}

}  // namespace sipsd
