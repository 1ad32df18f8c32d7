// sipsd_conn_memory: where the heap bytes of one idle TLS connection go, measured in-process
// with glibc's allocator statistics (mallinfo2: bytes in use) and the process RSS, on the
// server side of N connections over socketpairs. The client side runs in a forked child, so
// only server-side allocations are counted. The SSL_CTX is built by tls_mgm
// (build_server_ctx), as a worker builds it, so modes and options are the server's.
//
//   sipsd_conn_memory CERT KEY [N [once|all [TLS13_SUITES]]]
//
// Stages (each line: malloc bytes in use per connection, process RSS growth per connection):
//   ssl_new       SSL_new + SSL_set_fd + SSL_set_accept_state (what TlsIo::accept makes)
//   handshake     after a TLS 1.3 handshake (session, record-layer cipher contexts, tickets sent)
//   idle          after one 500-byte request read and a 300-byte reply written, then idle
//   freed         after SSL_free of all of them, then trimmed: after malloc_trim(0)
//   no_release    idle again with SSL_MODE_RELEASE_BUFFERS cleared: the record buffers it saves
// plus the fixed sizes of sipsd's own per-connection objects (StreamConn, TlsIo, libevent
// events, the worker's connection map node). With `once`, only the first run (for
// valgrind --tool=massif, which names every allocation site). TLS13_SUITES: the server's TLS 1.3
// ciphersuites (the record contexts' size depends on the cipher).
#include <event2/event.h>
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/base/file_read.h"
#include "proto_tls/stream_conn.h"
#include "proto_tls/tls_io.h"
#include "tls_mgm/ssl_ctx_builder.h"

namespace {

struct Heap {
  size_t in_use = 0;  // bytes handed out by malloc (uordblks + hblkhd)
  size_t rss = 0;     // resident bytes of the process (/proc/self/statm)
};

Heap heap_now() {
  struct mallinfo2 m = mallinfo2();
  Heap h{m.uordblks + m.hblkhd, 0};
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2)
      h.rss = resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::fclose(f);
  }
  return h;
}

void line(const char* stage, const Heap& a, const Heap& b, size_t n) {
  std::printf("%-12s %9.0f B in use/conn  %9.0f B RSS/conn\n", stage,
              (static_cast<double>(b.in_use) - static_cast<double>(a.in_use)) / n,
              (static_cast<double>(b.rss) - static_cast<double>(a.rss)) / n);
}

// The client side: handshake, send a request, read the reply, then wait to be told to go.
[[noreturn]] void run_clients(const std::vector<int>& fds, int go_pipe) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::vector<SSL*> ssl;
  std::string req(500, 'x');
  char buf[512];
  for (int fd : fds) {
    SSL* s = SSL_new(ctx);
    SSL_set_fd(s, fd);
    if (SSL_connect(s) != 1) _exit(3);
    ssl.push_back(s);
  }
  for (SSL* s : ssl) {
    if (SSL_write(s, req.data(), static_cast<int>(req.size())) <= 0) _exit(4);
    size_t got = 0;
    while (got < 300) {
      int r = SSL_read(s, buf, sizeof buf);
      if (r <= 0) _exit(5);
      got += static_cast<size_t>(r);
    }
  }
  char c;
  (void)!read(go_pipe, &c, 1);
  _exit(0);
}

struct Run {
  Heap base, after_new, after_handshake, after_idle, after_free, after_trim;
};

bool run(SSL_CTX* ctx, size_t n, Run* out) {
  std::vector<int> server_fds, client_fds;
  for (size_t i = 0; i < n; ++i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return false;
    server_fds.push_back(sv[0]);
    client_fds.push_back(sv[1]);
  }
  int go[2];
  if (pipe(go) != 0) return false;
  pid_t child = fork();
  if (child == 0) {
    for (int fd : server_fds) close(fd);
    close(go[1]);
    run_clients(client_fds, go[0]);
  }
  for (int fd : client_fds) close(fd);
  close(go[0]);

  std::vector<SSL*> ssl;
  ssl.reserve(n);
  malloc_trim(0);
  out->base = heap_now();
  for (int fd : server_fds) {
    SSL* s = SSL_new(ctx);
    SSL_set_fd(s, fd);
    SSL_set_accept_state(s);
    ssl.push_back(s);
  }
  out->after_new = heap_now();
  for (SSL* s : ssl)
    if (SSL_do_handshake(s) != 1) {
      std::fprintf(stderr, "handshake failed\n");
      return false;
    }
  out->after_handshake = heap_now();
  std::string reply(300, 'y');
  char buf[16384];
  for (SSL* s : ssl) {
    size_t got = 0;
    while (got < 500) {
      int r = SSL_read(s, buf, sizeof buf);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    if (SSL_write(s, reply.data(), static_cast<int>(reply.size())) <= 0) return false;
  }
  out->after_idle = heap_now();
  (void)!write(go[1], "x", 1);
  waitpid(child, nullptr, 0);
  for (SSL* s : ssl) SSL_free(s);
  for (int fd : server_fds) close(fd);
  close(go[1]);
  out->after_free = heap_now();
  malloc_trim(0);
  out->after_trim = heap_now();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sipsd_conn_memory CERT KEY [N [once|all [TLS13_SUITES]]]\n");
    return 2;
  }
  size_t n = argc > 3 ? static_cast<size_t>(std::atol(argv[3])) : 2000;
  sipsd::tls::TlsDomain d;
  d.set_name("bench");
  d.set_type(sipsd::tls::DOMAIN_TYPE_SERVER);
  auto cert = sipsd::read_small_file(argv[1], 1 << 20);
  auto key = sipsd::read_small_file(argv[2], 1 << 20);
  if (!cert.ok() || !key.ok()) {
    std::fprintf(stderr, "cannot read the certificate or key\n");
    return 2;
  }
  d.set_certificate_pem(*cert);
  d.set_private_key_pem(*key);
  if (argc > 5) d.set_ciphersuites(argv[5]);  // e.g. TLS_CHACHA20_POLY1305_SHA256
  auto ctx = sipsd::build_server_ctx(d);
  if (!ctx.ok()) {
    std::fprintf(stderr, "%s\n", ctx.message().c_str());
    return 2;
  }
  // A worker has built its contexts and served a connection before the ones measured: warm
  // OpenSSL's lazily made tables (providers, method stores) with one round first.
  Run warm;
  if (!run(ctx->get(), 4, &warm)) return 1;

  std::printf("%zu TLS 1.3 server connections (%s), heap per connection:\n", n,
              SSL_CTX_get_mode(ctx->get()) & SSL_MODE_RELEASE_BUFFERS ? "SSL_MODE_RELEASE_BUFFERS"
                                                                      : "buffers kept");
  Run r;
  if (!run(ctx->get(), n, &r)) return 1;
  line("ssl_new", r.base, r.after_new, n);
  line("handshake", r.base, r.after_handshake, n);
  line("idle", r.base, r.after_idle, n);
  line("freed", r.base, r.after_free, n);
  line("trimmed", r.base, r.after_trim, n);

  if (argc > 4 && std::string(argv[4]) == "once") return 0;  // e.g. under valgrind --tool=massif
  SSL_CTX_clear_mode(ctx->get(), SSL_MODE_RELEASE_BUFFERS);
  Run keep;
  if (!run(ctx->get(), n, &keep)) return 1;
  line("no_release", keep.base, keep.after_idle, n);

  std::printf("\nsipsd's own objects per connection (fixed sizes, plus their heap headers):\n");
  std::printf("  StreamConn          %4zu B\n", sizeof(sipsd::StreamConn));
  std::printf("  TlsIo               %4zu B\n", sizeof(sipsd::TlsIo));
  std::printf("handed off (tls_record_handoff), instead of OpenSSL's SSL:\n");
  std::printf("  Tls13RecordIo       %4zu B\n", sizeof(sipsd::Tls13RecordIo));
  std::printf("  Tls13RecordLayer    %4zu B\n", sizeof(sipsd::Tls13RecordLayer));
  std::printf("  libevent event x3   %4zu B\n", 3 * event_get_struct_event_size());
  std::printf("  connection map node %4zu B (+ 8 B bucket)\n",
              sizeof(void*) + sizeof(uint32_t) + sizeof(std::unique_ptr<sipsd::StreamConn>) + 8);
  return 0;
}
