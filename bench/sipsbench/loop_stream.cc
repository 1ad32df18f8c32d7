#include "bench/sipsbench/loop_stream.h"

namespace sipsd::bench {

Status LoopStream::open(event_base* base, event_callback_fn cb, void* arg, const Options& options,
                        SSL_CTX* ctx, SSL_SESSION* session, const sockaddr_in* source) {
  close();
  Status s = stream_.open(options, ctx, session, source);
  if (!s.ok()) return s;
  rev_.reset(event_new(base, stream_.fd(), EV_READ | EV_PERSIST, cb, arg));
  wev_.reset(event_new(base, stream_.fd(), EV_WRITE, cb, arg));
  event_add(rev_.get(), nullptr);
  event_add(wev_.get(), nullptr);
  return Status::Ok();
}

Status LoopStream::adopt(event_base* base, event_callback_fn cb, void* arg, int fd,
                         SSL_CTX* server_ctx) {
  close();
  Status s = stream_.adopt(fd, server_ctx);
  if (!s.ok()) return s;
  rev_.reset(event_new(base, stream_.fd(), EV_READ | EV_PERSIST, cb, arg));
  wev_.reset(event_new(base, stream_.fd(), EV_WRITE, cb, arg));
  event_add(rev_.get(), nullptr);
  return Status::Ok();
}

Io LoopStream::write_from(const std::string& data, size_t* off) {
  while (*off < data.size()) {
    size_t n = 0;
    Io io = waited(stream_.write(data.data() + *off, data.size() - *off, &n));
    if (io != Io::kOk) return io;
    *off += n;
  }
  return Io::kOk;
}

void LoopStream::close() {
  rev_.reset();
  wev_.reset();
  stream_.close();
}

}  // namespace sipsd::bench
