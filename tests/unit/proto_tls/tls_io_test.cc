// TlsIo against a real TLS peer in the same process: the server side is sipsd's (TlsIo::accept
// with ServerTlsContexts built from the test PKI), the client plain OpenSSL, over a non-blocking
// socketpair. Every loop is bounded; nothing here waits on a clock.
#include "proto_tls/tls_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/unit/support/tls_peer.h"
#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {
namespace {

using test::plain_client;
using test::plain_client_ctx;
using test::server_domain;

constexpr const char* kLocal = "127.0.0.1:5061";

// "default" (ECDSA, sip.example.com, also for clients without SNI) and "mtls" (requires a
// client certificate from ca.pem); no domain for other names.
// `handoff`: the contexts carry the key-log callback the record hand-off needs.
std::shared_ptr<const ServerTlsContexts> contexts(bool handoff) {
  tls::TlsSnapshot snap;
  *snap.add_server_domains() = server_domain("default", "sip-example.pem", "sip-example-key.pem",
                                             {"sip.example.com", "none"});
  tls::TlsDomain mtls = server_domain("mtls", "cert.pem", "ckey.pem", {"mtls.example.com"});
  test::verify_clients(&mtls, /*require=*/true);
  *snap.add_server_domains() = mtls;
  auto set =
      ServerTlsContexts::build(snap, nullptr, handoff ? &Tls13Handoff::keylog_callback : nullptr);
  EXPECT_TRUE(set.ok()) << set.message();
  return set.ok() ? *set : nullptr;
}

const char* status_name(IoStatus s) {
  switch (s) {
    case IoStatus::kOk:
      return "ok";
    case IoStatus::kWantRead:
      return "want-read";
    case IoStatus::kWantWrite:
      return "want-write";
    case IoStatus::kClosed:
      return "closed";
    case IoStatus::kError:
      return "error";
  }
  return "?";
}

std::string names(const std::vector<IoStatus>& steps) {
  std::string s;
  for (IoStatus st : steps) s += std::string(s.empty() ? "" : " ") + status_name(st);
  return s;
}

// Every case runs twice: OpenSSL carrying the records for the connection's life, and with the
// record hand-off (tls_record_handoff, the default), where a TLS 1.3 connection leaves OpenSSL
// once its handshake is done.
class TlsIoBase : public ::testing::Test {
 protected:
  virtual bool handoff() const = 0;
  void SetUp() override {
    if (handoff()) {
      std::string err;
      crypto_ = Tls13Crypto::create(&err);
      ASSERT_TRUE(crypto_) << err;
    }
    set_ = contexts(handoff());
    ASSERT_TRUE(set_);
    fds_ = test::socket_pair();
    ASSERT_TRUE(fds_.server && fds_.client);
  }

  std::unique_ptr<TlsIo> accept() {
    std::string err;
    auto io = TlsIo::accept(*set_, kLocal, fds_.server.get(), &err, crypto_.get());
    EXPECT_TRUE(io) << err;
    return io;
  }
  SslPtr client(const std::string& sni, const char* cert = nullptr, const char* key = nullptr) {
    client_ctx_ = plain_client_ctx(cert, key);
    EXPECT_TRUE(client_ctx_);
    SslPtr c = client_ctx_ ? plain_client(client_ctx_.get(), fds_.client.get(), sni) : nullptr;
    EXPECT_TRUE(c);
    return c;
  }

  // Alternates client and server handshake steps until both are done or one side fails; the
  // server's step results are appended to `steps`. True when both sides finished.
  bool run_handshake(TlsIo& io, SSL* c, std::vector<IoStatus>* steps) {
    bool client_done = false, server_done = false;
    for (int i = 0; i < 50 && !(client_done && server_done); ++i) {
      if (!client_done) {
        int r = SSL_do_handshake(c);
        int e = SSL_get_error(c, r);
        if (r == 1) {
          client_done = true;
        } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          return false;
        }
      }
      if (!server_done) {
        IoResult r = io.handshake();
        steps->push_back(r.status);
        if (r.status == IoStatus::kOk) server_done = true;
        if (r.status == IoStatus::kError || r.status == IoStatus::kClosed) return false;
      }
    }
    return client_done && server_done;
  }

  // Everything the client can read now (until it would block).
  std::string client_read_all(SSL* c) {
    std::string out;
    char buf[16384];
    for (int i = 0; i < 10000; ++i) {
      size_t n = 0;
      if (SSL_read_ex(c, buf, sizeof buf, &n) != 1) break;
      out.append(buf, n);
    }
    return out;
  }

  std::unique_ptr<Tls13Crypto> crypto_;
  std::shared_ptr<const ServerTlsContexts> set_;
  test::SocketPair fds_;
  SslCtxPtr client_ctx_;
};

class TlsIoTest : public TlsIoBase, public ::testing::WithParamInterface<bool> {
 protected:
  bool handoff() const override { return GetParam(); }
};

TEST_P(TlsIoTest, HandshakeRunsInNonBlockingStepsAndDescribesTheConnection) {
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  // Nothing from the client yet: the server waits for readability.
  EXPECT_EQ(io->handshake().status, IoStatus::kWantRead);
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps.back(), IoStatus::kOk);
  // Its flight written, the server waits for the client's Finished.
  EXPECT_EQ(steps.front(), IoStatus::kWantRead) << names(steps);

  EXPECT_TRUE(io->is_tls());
  ConnInfo info;
  io->describe(&info);
  EXPECT_STREQ(info.tls_version, SSL_get_version(c.get()));
  EXPECT_STREQ(info.tls_version, "TLSv1.3");
  EXPECT_STREQ(info.tls_cipher, SSL_get_cipher_name(c.get()));
  EXPECT_EQ(info.tls_peer_verified, 0) << "no client certificate was presented";
  TlsConnView v = io->tls_view();
  EXPECT_TRUE(v.tls);
  EXPECT_STREQ(v.version, "TLSv1.3");
  EXPECT_EQ(v.sni, "sip.example.com");
  EXPECT_EQ(v.domain, "default");
  EXPECT_EQ(io->selection().domain, 0);
  EXPECT_FALSE(io->session_resumed());
  EXPECT_FALSE(io->peer_verify_failed());
}

TEST_P(TlsIoTest, HandshakeWaitsForWritabilityAndResumes) {
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  // The client sends its ClientHello; then the server-to-client direction is filled up, so the
  // server's first flight cannot be written.
  ASSERT_EQ(SSL_get_error(c.get(), SSL_do_handshake(c.get())), SSL_ERROR_WANT_READ);
  std::string filler(65536, 'f');
  size_t queued = 0;
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = write(fds_.server.get(), filler.data(), filler.size());
    if (n < 0) break;
    queued += static_cast<size_t>(n);
  }
  ASSERT_EQ(errno, EAGAIN);
  ASSERT_GT(queued, 0u);
  EXPECT_EQ(io->handshake().status, IoStatus::kWantWrite);
  // The client takes the filler off the socket (raw, it is not TLS), then both go on.
  std::string drained;
  char buf[65536];
  while (drained.size() < queued) {
    ssize_t n = read(fds_.client.get(), buf, std::min(sizeof buf, queued - drained.size()));
    ASSERT_GT(n, 0) << strerror(errno);
    drained.append(buf, static_cast<size_t>(n));
  }
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
  EXPECT_EQ(steps.back(), IoStatus::kOk);
  // The retried flight arrived whole: data flows.
  ASSERT_EQ(io->write("ping", 4).status, IoStatus::kOk);
  EXPECT_EQ(client_read_all(c.get()), "ping");
}

TEST_P(TlsIoTest, ReadAndWrite) {
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();

  char buf[256];
  IoResult nothing = io->read(buf, sizeof buf);
  EXPECT_EQ(nothing.status, IoStatus::kWantRead);  // TLS 1.3 tickets may be read, no data
  EXPECT_EQ(nothing.bytes, 0u);

  const std::string request = "OPTIONS sip:a@example.com SIP/2.0\r\n\r\n";
  size_t n = 0;
  ASSERT_EQ(SSL_write_ex(c.get(), request.data(), request.size(), &n), 1);
  IoResult got = io->read(buf, sizeof buf);
  ASSERT_EQ(got.status, IoStatus::kOk) << io->error();
  EXPECT_EQ(std::string(buf, got.bytes), request);
  EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kWantRead);

  const std::string reply = "SIP/2.0 200 OK\r\n\r\n";
  IoResult sent = io->write(reply.data(), reply.size());
  EXPECT_EQ(sent.status, IoStatus::kOk);
  EXPECT_EQ(sent.bytes, reply.size());
  EXPECT_EQ(client_read_all(c.get()), reply);
}

TEST_P(TlsIoTest, WritesLargerThanTheSocketTakeWaitAndComplete) {
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  size_t sent = 0;
  int want_write = 0;
  std::string received;
  for (int i = 0; i < 100000 && sent < data.size(); ++i) {
    IoResult r = io->write(data.data() + sent, data.size() - sent);
    if (r.status == IoStatus::kOk) {
      ASSERT_GT(r.bytes, 0u);
      sent += r.bytes;  // partial writes are allowed (SSL_MODE_ENABLE_PARTIAL_WRITE)
    } else {
      ASSERT_EQ(r.status, IoStatus::kWantWrite) << io->error();
      ++want_write;
      received += client_read_all(c.get());  // the peer reads; the socket takes more
    }
  }
  ASSERT_EQ(sent, data.size());
  EXPECT_GT(want_write, 0) << "1 MiB fitted in the socket: the test proves nothing";
  received += client_read_all(c.get());
  EXPECT_EQ(received.size(), data.size());
  EXPECT_TRUE(received == data) << "the bytes arrived changed or out of order";
}

TEST_P(TlsIoTest, CloseNotifyAndEofAreAnOrderlyClose) {
  {
    auto io = accept();
    SslPtr c = client("sip.example.com");
    ASSERT_TRUE(io && c);
    std::vector<IoStatus> steps;
    ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
    SSL_shutdown(c.get());  // close_notify
    char buf[64];
    EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kClosed) << io->error();
    // Our own close_notify reaches the client.
    io->shutdown();
    EXPECT_EQ(SSL_get_error(c.get(), SSL_read(c.get(), buf, sizeof buf)), SSL_ERROR_ZERO_RETURN);
  }
  // The peer's socket just closes (no close_notify): also kClosed, not an error.
  fds_ = test::socket_pair();
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
  c.reset();
  fds_.client.reset();
  char buf[64];
  EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kClosed) << io->error();
}

TEST_P(TlsIoTest, AGarbageRecordIsAnErrorWithAReason) {
  auto io = accept();
  SslPtr c = client("sip.example.com");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
  // An application-data record whose contents were not encrypted with the session's keys.
  std::string record = std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'A');
  ASSERT_EQ(write(fds_.client.get(), record.data(), record.size()),
            static_cast<ssize_t>(record.size()));
  char buf[64];
  IoResult r = io->read(buf, sizeof buf);
  EXPECT_EQ(r.status, IoStatus::kError);
  EXPECT_EQ(io->error().rfind("read: ", 0), 0u) << io->error();
  EXPECT_NE(io->error().find("bad record mac"), std::string::npos) << io->error();
}

TEST_P(TlsIoTest, NotTlsOrNoHelloFailsTheHandshakeWithAReason) {
  {
    auto io = accept();
    ASSERT_TRUE(io);
    const std::string http = "GET / HTTP/1.1\r\nHost: sip.example.com\r\n\r\n";
    ASSERT_EQ(write(fds_.client.get(), http.data(), http.size()),
              static_cast<ssize_t>(http.size()));
    EXPECT_EQ(io->handshake().status, IoStatus::kError);
    EXPECT_EQ(io->error().rfind("handshake: ", 0), 0u) << io->error();
    EXPECT_NE(io->error().find("http request"), std::string::npos) << io->error();
  }
  // The peer goes away before its ClientHello.
  fds_ = test::socket_pair();
  auto io = accept();
  ASSERT_TRUE(io);
  fds_.client.reset();
  EXPECT_EQ(io->handshake().status, IoStatus::kError);
  EXPECT_EQ(io->error(), "handshake: peer closed the connection");
}

TEST_P(TlsIoTest, AnUnknownSniIsRefusedNamingIt) {
  auto io = accept();
  SslPtr c = client("nobody.example.org");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  EXPECT_FALSE(run_handshake(*io, c.get(), &steps));
  EXPECT_EQ(steps.back(), IoStatus::kError) << names(steps);
  EXPECT_EQ(io->error(),
            "no tls_mgm server domain matches SNI 'nobody.example.org' (unrecognized_name)");
  EXPECT_TRUE(io->selection().refused);
}

TEST_P(TlsIoTest, ClientCertificatesAreVerifiedAndDescribed) {
  {
    auto io = accept();
    SslPtr c = client("mtls.example.com", "client.pem", "client-key.pem");
    ASSERT_TRUE(io && c);
    std::vector<IoStatus> steps;
    ASSERT_TRUE(run_handshake(*io, c.get(), &steps)) << names(steps) << ": " << io->error();
    ConnInfo info;
    io->describe(&info);
    EXPECT_EQ(info.tls_peer_verified, 1);
    EXPECT_FALSE(io->peer_verify_failed());
    EXPECT_EQ(io->tls_view().domain, "mtls");
  }
  fds_ = test::socket_pair();
  auto io = accept();
  SslPtr c = client("mtls.example.com", "client-ca2.pem", "client-ca2-key.pem");
  ASSERT_TRUE(io && c);
  std::vector<IoStatus> steps;
  EXPECT_FALSE(run_handshake(*io, c.get(), &steps));
  EXPECT_EQ(steps.back(), IoStatus::kError) << names(steps);
  EXPECT_TRUE(io->peer_verify_failed());
  EXPECT_EQ(io->error().rfind("handshake: ", 0), 0u) << io->error();
  EXPECT_NE(io->error().find("(peer certificate: unable to get local issuer certificate)"),
            std::string::npos)
      << io->error();
}

// ---- the record hand-off ----------------------------------------------------------------------

class TlsHandoffTest : public TlsIoBase {
 protected:
  bool handoff() const override { return true; }

  // accept(), a client (set up by `tweak` first, when given) and the whole handshake.
  void connect(std::unique_ptr<TlsIo>* io, SslPtr* c,
               const std::function<void(SSL*)>& tweak = nullptr,
               const std::string& sni = "sip.example.com", const char* cert = nullptr,
               const char* key = nullptr) {
    *io = accept();
    *c = client(sni, cert, key);
    ASSERT_TRUE(*io && *c);
    if (tweak) tweak(c->get());
    std::vector<IoStatus> steps;
    ASSERT_TRUE(run_handshake(**io, c->get(), &steps)) << names(steps) << ": " << (*io)->error();
  }
  // accept() and a client whose Finished goes out together with `req`: the server's last
  // handshake step reads both.
  void connect_sending(std::unique_ptr<TlsIo>* io, SslPtr* c, const std::string& req) {
    *io = accept();
    *c = client("sip.example.com");
    ASSERT_TRUE(*io && *c);
    ASSERT_EQ(SSL_get_error(c->get(), SSL_do_handshake(c->get())), SSL_ERROR_WANT_READ);
    ASSERT_EQ((*io)->handshake().status, IoStatus::kWantRead);
    ASSERT_EQ(SSL_do_handshake(c->get()), 1);
    size_t w = 0;
    ASSERT_EQ(SSL_write_ex(c->get(), req.data(), req.size(), &w), 1);
    ASSERT_EQ((*io)->handshake().status, IoStatus::kOk) << (*io)->error();
  }

  // Server reads until `want` bytes came or it would block (bounded).
  std::string server_read(TlsIo& io, size_t want) {
    std::string out;
    char buf[4096];
    for (int i = 0; i < 1000 && out.size() < want; ++i) {
      IoResult r = io.read(buf, sizeof buf);
      if (r.status != IoStatus::kOk) break;
      out.append(buf, r.bytes);
    }
    return out;
  }
  // `n` requests client -> server and `n` replies back, each checked.
  void exchange(TlsIo& io, SSL* c, int n) {
    for (int i = 0; i < n; ++i) {
      std::string req = "REQ " + std::to_string(i) + "\r\n";
      size_t w = 0;
      ASSERT_EQ(SSL_write_ex(c, req.data(), req.size(), &w), 1);
      ASSERT_EQ(server_read(io, req.size()), req) << io.error();
      std::string rep = "REP " + std::to_string(i) + "\r\n";
      IoResult r = io.write(rep.data(), rep.size());
      ASSERT_EQ(r.status, IoStatus::kOk) << io.error();
      ASSERT_EQ(r.bytes, rep.size());
      ASSERT_EQ(client_read_all(c), rep);
    }
  }
  // The record the client seals for `data`, caught before it reaches the socket (its later
  // records are caught too), for the test to alter or repeat.
  std::string sealed_by_client(SSL* c, std::string_view data) {
    BIO* mem = BIO_new(BIO_s_mem());
    SSL_set0_wbio(c, mem);
    size_t w = 0;
    EXPECT_EQ(SSL_write_ex(c, data.data(), data.size(), &w), 1);
    char* bytes = nullptr;
    long n = BIO_get_mem_data(mem, &bytes);
    return std::string(bytes, static_cast<size_t>(n));
  }
  void send_raw(const std::string& bytes) {
    ASSERT_EQ(write(fds_.client.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  // What the client gets when it reads now: the alert's text, "" when it reads fine.
  std::string client_alert(SSL* c) {
    char buf[64];
    openssl_clear_errors();
    if (SSL_read(c, buf, sizeof buf) > 0) return "";
    return openssl_drain_errors();
  }
};

TEST_F(TlsHandoffTest, TheSslIsFreedAfterTheHandshakeAndRecordsFlowBothWays) {
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
  EXPECT_EQ(io->ssl(), nullptr) << "the SSL object was kept";
  ASSERT_NE(io->records(), nullptr);
  // OpenSSL wrote one ticket under the application key: our writes go on from 1.
  EXPECT_EQ(io->records()->layer().write_seq(), 1u);
  EXPECT_EQ(io->records()->layer().read_seq(), 0u);
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 50));
  EXPECT_EQ(io->records()->layer().read_seq(), 50u);
  EXPECT_EQ(io->records()->layer().write_seq(), 51u);
  // What the connection tells about itself survives the SSL.
  TlsConnView v = io->tls_view();
  EXPECT_TRUE(v.tls);
  EXPECT_STREQ(v.version, "TLSv1.3");
  ASSERT_NE(v.cipher, nullptr);
  EXPECT_STREQ(SSL_CIPHER_get_name(v.cipher), SSL_get_cipher_name(c.get()));
  EXPECT_EQ(v.sni, "sip.example.com");
  EXPECT_EQ(v.domain, "default");
  EXPECT_NE(v.local, nullptr);
  EXPECT_FALSE(io->session_resumed());
}

TEST_F(TlsHandoffTest, DataThatCameWithTheFinishedIsReadByOpenSslThenHandedOff) {
  // ClientHello; the server's flight; the client's Finished and, at once, a request.
  const std::string req = "OPTIONS sip:x SIP/2.0\r\n\r\n";
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(connect_sending(&io, &c, req));
  EXPECT_NE(io->ssl(), nullptr) << "handed off while OpenSSL held the request's record";
  EXPECT_EQ(server_read(*io, req.size()), req);
  EXPECT_EQ(io->ssl(), nullptr) << "not handed off once OpenSSL held nothing";
  ASSERT_NE(io->records(), nullptr);
  EXPECT_EQ(io->records()->layer().read_seq(), 1u);
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 5));
}

TEST_F(TlsHandoffTest, RepliesOpenSslWroteBeforeTheHandoffAreCounted) {
  // The request arrives with the client's Finished and is read in two pieces; replies are
  // written in between, while OpenSSL still holds the rest of the request's record.
  const std::string req = "REGISTER sip:x SIP/2.0\r\n\r\n";
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(connect_sending(&io, &c, req));
  char buf[8];
  IoResult part = io->read(buf, sizeof buf);  // OpenSSL keeps the rest of the record
  ASSERT_EQ(part.status, IoStatus::kOk);
  ASSERT_NE(io->ssl(), nullptr);
  // Two replies go out through OpenSSL while it still holds part of the request.
  for (const char* rep : {"SIP/2.0 100 Trying\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n"})
    ASSERT_EQ(io->write(rep, strlen(rep)).status, IoStatus::kOk);
  std::string rest = server_read(*io, req.size() - part.bytes);
  EXPECT_EQ(std::string(buf, part.bytes) + rest, req);
  ASSERT_EQ(io->ssl(), nullptr) << "not handed off once the request was read";
  EXPECT_EQ(io->records()->layer().write_seq(), 3u) << "the ticket and the two replies";
  EXPECT_EQ(client_read_all(c.get()), "SIP/2.0 100 Trying\r\n\r\nSIP/2.0 200 OK\r\n\r\n");
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 3));
}

TEST_F(TlsHandoffTest, EverySuiteOfTheHandoffInteroperates) {
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    SCOPED_TRACE(suite);
    fds_ = test::socket_pair();
    std::unique_ptr<TlsIo> io;
    SslPtr c;
    ASSERT_NO_FATAL_FAILURE(
        connect(&io, &c, [&](SSL* ssl) { ASSERT_EQ(SSL_set_ciphersuites(ssl, suite), 1); }));
    EXPECT_EQ(io->ssl(), nullptr);
    EXPECT_STREQ(SSL_CIPHER_get_name(io->tls_view().cipher), suite);
    ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 3));
  }
}

TEST_F(TlsHandoffTest, KeyUpdatesEitherWayAreFollowed) {
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
  ASSERT_EQ(io->ssl(), nullptr);
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    // The client updates its key and asks for ours: its next record is under a new key, and
    // it reads our reply only if we updated too (its old read key is gone).
    ASSERT_EQ(SSL_key_update(c.get(), SSL_KEY_UPDATE_REQUESTED), 1);
    ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 2));
    EXPECT_EQ(io->records()->layer().read_seq(), 2u) << "the read sequence restarts at a new key";
    EXPECT_EQ(io->records()->layer().write_seq(), 2u) << "ours: our KeyUpdate, then 2 replies";
  }
  ASSERT_EQ(SSL_key_update(c.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 2));
  EXPECT_EQ(io->records()->layer().write_seq(), 4u) << "an update not requested: our key stays";
}

TEST_F(TlsHandoffTest, AnAlteredOrReplayedRecordIsFatalAndTheClientIsTold) {
  {
    std::unique_ptr<TlsIo> io;
    SslPtr c;
    ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
    std::string record = sealed_by_client(c.get(), "INVITE");
    ASSERT_EQ(record.size(), 5u + 6 + 1 + 16);
    record[8] ^= 0x01;  // one bit of the ciphertext
    send_raw(record);
    char buf[64];
    EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kError);
    EXPECT_EQ(io->error(), "read: bad record mac (record 0 does not decrypt)");
    EXPECT_NE(client_alert(c.get()).find("bad record mac"), std::string::npos);
  }
  fds_ = test::socket_pair();
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
  const std::string record = sealed_by_client(c.get(), "REGISTER");
  send_raw(record);
  char buf[64];
  IoResult r = io->read(buf, sizeof buf);
  ASSERT_EQ(r.status, IoStatus::kOk) << io->error();
  EXPECT_EQ(std::string(buf, r.bytes), "REGISTER");
  send_raw(record);  // the same record again: its sequence number has passed
  EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kError);
  EXPECT_EQ(io->error(), "read: bad record mac (record 1 does not decrypt)");
}

TEST_F(TlsHandoffTest, RecordsTheProtocolForbidsAreFatalWithTheirAlert) {
  struct Case {
    std::string bytes;
    const char* error;
    const char* alert;
  };
  const Case cases[] = {
      {std::string("\x17\x03\x03\x42\x01", 5) + std::string(16897, 'x'),
       "read: record of 16897 bytes", "record overflow"},
      {std::string("\x16\x03\x03\x00\x04\x18\x00\x00\x01", 9),
       "read: unprotected record of type 22 after the handshake", "unexpected message"},
      {std::string("\x17\x03\x03\x00\x05", 5) + std::string(5, 'x'), "read: record of 5 bytes",
       "decode error"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.error);
    fds_ = test::socket_pair();
    std::unique_ptr<TlsIo> io;
    SslPtr c;
    ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
    ASSERT_EQ(io->ssl(), nullptr);
    send_raw(k.bytes);
    char buf[64];
    EXPECT_EQ(io->read(buf, sizeof buf).status, IoStatus::kError);
    EXPECT_EQ(io->error(), k.error);
    EXPECT_NE(client_alert(c.get()).find(k.alert), std::string::npos) << k.alert;
  }
}

TEST_F(TlsHandoffTest, Tls12AndResumedConnections) {
  {
    // TLS 1.2 stays with OpenSSL for its whole life.
    std::unique_ptr<TlsIo> io;
    SslPtr c;
    ASSERT_NO_FATAL_FAILURE(connect(
        &io, &c, [](SSL* ssl) { ASSERT_EQ(SSL_set_max_proto_version(ssl, TLS1_2_VERSION), 1); }));
    ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 3));
    EXPECT_NE(io->ssl(), nullptr);
    EXPECT_EQ(io->records(), nullptr);
    EXPECT_STREQ(io->tls_view().version, "TLSv1.2");
  }
  // A session from a handed-off connection resumes, and the resumed one is handed off.
  SslSessionPtr session;
  {
    fds_ = test::socket_pair();
    std::unique_ptr<TlsIo> io;
    SslPtr c;
    ASSERT_NO_FATAL_FAILURE(connect(&io, &c));
    ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 1));  // the client has read its ticket
    session.reset(SSL_get1_session(c.get()));
    ASSERT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
    // A client SSL freed without a shutdown marks its session unusable.
    SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
  fds_ = test::socket_pair();
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(
      connect(&io, &c, [&](SSL* ssl) { ASSERT_EQ(SSL_set_session(ssl, session.get()), 1); }));
  EXPECT_TRUE(io->session_resumed());
  EXPECT_EQ(io->ssl(), nullptr);
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 3));
}

TEST_F(TlsHandoffTest, TheClientCertificateOutlivesTheSsl) {
  std::unique_ptr<TlsIo> io;
  SslPtr c;
  ASSERT_NO_FATAL_FAILURE(
      connect(&io, &c, nullptr, "mtls.example.com", "client.pem", "client-key.pem"));
  ASSERT_NO_FATAL_FAILURE(exchange(*io, c.get(), 1));
  ASSERT_EQ(io->ssl(), nullptr);
  TlsConnView v = io->tls_view();
  ASSERT_NE(v.peer, nullptr);
  EXPECT_TRUE(tls_peer_verified(v));
  std::string scratch;
  X509* mine = SSL_get0_peer_certificate(c.get());
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(X509_cmp(v.local, mine), 0) << "our certificate, as the client saw it";
  auto subject = tls_pv(v, PvId::kTlsPeerSubject, &scratch);
  ASSERT_TRUE(subject.has_value());
  EXPECT_NE(subject->find("CN="), std::string_view::npos) << *subject;
}

INSTANTIATE_TEST_SUITE_P(Records, TlsIoTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Handoff" : "OpenSsl";
                         });

}  // namespace
}  // namespace sipsd
