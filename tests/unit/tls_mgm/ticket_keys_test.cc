#include "tls_mgm/ticket_keys.h"

#include <openssl/err.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {
namespace {

std::unique_ptr<ShmRegion> region() {
  ShmRegion::Layout l;
  auto r = ShmRegion::create(l);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

std::string write_secret(const std::string& name, const std::string& bytes, mode_t mode) {
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  chmod(path.c_str(), mode);
  return path;
}

bool same(const TicketKey& a, const TicketKey& b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

TEST(TicketKeys, FileKeysAreTheSameEverywhereAndChangeEachPeriod) {
  std::string file = write_secret("tk-secret", std::string(48, 's'), 0600);
  auto a = TicketKeySource::create(file, 3600);
  auto b = TicketKeySource::create(file, 3600);
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(same(*a->key_for_period(7), *b->key_for_period(7)));  // another host, same file
  EXPECT_FALSE(same(*a->key_for_period(7), *a->key_for_period(8)));
  auto random = TicketKeySource::create("", 3600);
  ASSERT_TRUE(random.ok());
  EXPECT_FALSE(same(*random->key_for_period(7), *random->key_for_period(7)));
}

TEST(TicketKeys, KeyFileMustBeSecretAndLongEnough) {
  auto shortf = TicketKeySource::create(write_secret("tk-short", "tiny", 0600), 3600);
  ASSERT_FALSE(shortf.ok());
  EXPECT_NE(shortf.message().find("at least 32"), std::string::npos);
  auto open = TicketKeySource::create(write_secret("tk-open", std::string(48, 'x'), 0644), 3600);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.message().find("readable by other users"), std::string::npos);
  EXPECT_FALSE(TicketKeySource::create("/nonexistent/tk", 3600).ok());
}

TEST(TicketKeys, RotatorKeepsThePreviousKeyForOnePeriod) {
  auto shm = region();
  TicketKeyStore store(shm->ticket_keys());
  TicketKey cur, prev;
  bool has_prev = true;
  EXPECT_FALSE(store.read(&cur, &prev, &has_prev));
  auto source = TicketKeySource::create("", 60);
  ASSERT_TRUE(source.ok());
  TicketKeyRotator rot(std::move(source).value(), store);
  auto wait = rot.rotate(60'000 * 10 + 5'000);
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(*wait, 55'000);  // until the next minute
  ASSERT_TRUE(store.read(&cur, &prev, &has_prev));
  EXPECT_FALSE(has_prev);
  TicketKey first = cur;
  uint64_t gen = store.generation();
  ASSERT_TRUE(rot.rotate(60'000 * 10 + 30'000).ok());  // same period: nothing changes
  EXPECT_EQ(store.generation(), gen);
  ASSERT_TRUE(rot.rotate(60'000 * 11).ok());
  ASSERT_TRUE(store.read(&cur, &prev, &has_prev));
  EXPECT_TRUE(has_prev);
  EXPECT_TRUE(same(prev, first));
  EXPECT_FALSE(same(cur, first));
}

// --- Resumption across two "workers": two separate SSL_CTXs sharing the store --------------

SslCtxPtr server_ctx(const TicketKeyStore* store) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), test::unit_cert("cert.pem").c_str()), 1);
  EXPECT_EQ(
      SSL_CTX_use_PrivateKey_file(ctx.get(), test::unit_cert("ckey.pem").c_str(), SSL_FILETYPE_PEM),
      1);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (store) install_ticket_keys(ctx.get(), store);
  return ctx;
}

// One in-memory handshake; returns the client's session (for the next one) and whether this
// one resumed.
struct Handshake {
  SSL_SESSION* session = nullptr;  // owned by the caller
  bool resumed = false;
  bool ok = false;
};

Handshake handshake(SSL_CTX* server, SSL_CTX* client, SSL_SESSION* resume) {
  SslPtr s(SSL_new(server)), c(SSL_new(client));
  BIO *bs, *bc;
  BIO_new_bio_pair(&bs, 0, &bc, 0);
  SSL_set_bio(s.get(), bs, bs);
  SSL_set_bio(c.get(), bc, bc);
  SSL_set_accept_state(s.get());
  SSL_set_connect_state(c.get());
  if (resume) SSL_set_session(c.get(), resume);
  Handshake h;
  for (int i = 0; i < 100; ++i) {
    int rc = SSL_do_handshake(c.get());
    int rs = SSL_do_handshake(s.get());
    if (rc == 1 && rs == 1) {
      h.ok = true;
      break;
    }
  }
  // TLS 1.3 tickets come after the handshake: let the client read them.
  char buf[1];
  SSL_write(s.get(), "x", 1);
  SSL_read(c.get(), buf, 1);
  h.resumed = SSL_session_reused(c.get());
  h.session = SSL_get1_session(c.get());
  // A connection freed without a shutdown marks its session unusable.
  SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(s.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ERR_clear_error();
  return h;
}

TEST(TicketKeys, ASessionFromOneWorkerResumesOnAnother) {
  auto shm = region();
  TicketKeyStore store(shm->ticket_keys());
  auto source = TicketKeySource::create("", 3600);
  ASSERT_TRUE(source.ok());
  TicketKeyRotator rot(std::move(source).value(), store);
  ASSERT_TRUE(rot.rotate(1'000'000).ok());

  SslCtxPtr worker1 = server_ctx(&store), worker2 = server_ctx(&store);
  SslCtxPtr client(SSL_CTX_new(TLS_client_method()));
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SSL_CTX_set_max_proto_version(client.get(), version);
    Handshake first = handshake(worker1.get(), client.get(), nullptr);
    ASSERT_TRUE(first.ok);
    EXPECT_FALSE(first.resumed);
    Handshake second = handshake(worker2.get(), client.get(), first.session);
    ASSERT_TRUE(second.ok);
    EXPECT_TRUE(second.resumed) << "TLS version " << version;
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(second.session);
  }
  // Without the shared keys, each context has its own: no resumption across them.
  SslCtxPtr alone1 = server_ctx(nullptr), alone2 = server_ctx(nullptr);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_3_VERSION);
  Handshake a = handshake(alone1.get(), client.get(), nullptr);
  Handshake b = handshake(alone2.get(), client.get(), a.session);
  EXPECT_FALSE(b.resumed);
  SSL_SESSION_free(a.session);
  SSL_SESSION_free(b.session);
}

TEST(TicketKeys, TicketsOutliveOneRotationButNotTwo) {
  auto shm = region();
  TicketKeyStore store(shm->ticket_keys());
  auto source = TicketKeySource::create("", 60);
  ASSERT_TRUE(source.ok());
  TicketKeyRotator rot(std::move(source).value(), store);
  ASSERT_TRUE(rot.rotate(60'000).ok());
  SslCtxPtr server = server_ctx(&store);
  SslCtxPtr client(SSL_CTX_new(TLS_client_method()));
  Handshake first = handshake(server.get(), client.get(), nullptr);
  ASSERT_TRUE(rot.rotate(120'000).ok());  // one rotation: the previous key still opens it
  Handshake second = handshake(server.get(), client.get(), first.session);
  EXPECT_TRUE(second.resumed);
  ASSERT_TRUE(rot.rotate(180'000).ok());
  ASSERT_TRUE(rot.rotate(240'000).ok());  // two more: the first ticket's key is gone
  Handshake third = handshake(server.get(), client.get(), first.session);
  EXPECT_TRUE(third.ok);
  EXPECT_FALSE(third.resumed);
  SSL_SESSION_free(first.session);
  SSL_SESSION_free(second.session);
  SSL_SESSION_free(third.session);
}

}  // namespace
}  // namespace sipsd
