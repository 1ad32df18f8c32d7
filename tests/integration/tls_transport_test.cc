// proto_tls against the real sipsd: replies, keep-alives, framing limits and timeouts, each
// checked from the client's side of a real TLS connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/base/unique_fd.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<SipsdServer> start_server(SipsdOptions options = {}) {
  auto srv = SipsdServer::start(options);
  EXPECT_TRUE(srv.ok()) << srv.message();
  return srv.ok() ? std::move(srv).value() : nullptr;
}

SipTestClient::Ptr connect(const SipsdServer& srv, TlsClientOptions o = default_tls_options()) {
  auto c = SipTestClient::connect_tls("127.0.0.1", srv.tls_port(), o);
  EXPECT_TRUE(c.ok()) << c.message();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(TlsTransport, OptionsIsAnsweredWithACorrectStatelessReply) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tls_version().substr(0, 6), "TLSv1.");

  // A Via whose sent-by differs from the source address, asking for rport.
  SipRequestSpec spec;
  spec.cseq = 4711;
  SipHop hop = c->hop();
  hop.local_ip = "192.0.2.7";
  hop.local_port = 5099;
  SipRequest req = build_sip_request(spec, hop);
  ASSERT_TRUE(c->send(req.text).ok());
  auto reply = c->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 200);
  EXPECT_EQ(reply->reason(), "OK");

  std::vector<std::string> vias = reply->vias();
  ASSERT_EQ(vias.size(), 1u);
  EXPECT_EQ(header_param(vias[0], "branch").value_or(""), req.branch);
  EXPECT_EQ(header_param(vias[0], "received").value_or(""), "127.0.0.1");
  EXPECT_EQ(header_param(vias[0], "rport").value_or(""), std::to_string(c->local_port()));

  EXPECT_EQ(reply->header("Call-ID").value_or(""), req.call_id);
  EXPECT_EQ(reply->header("CSeq").value_or(""), "4711 OPTIONS");
  EXPECT_EQ(header_param(reply->header("From").value_or(""), "tag").value_or(""), req.from_tag);
  std::string to_tag = header_param(reply->header("To").value_or(""), "tag").value_or("");
  EXPECT_FALSE(to_tag.empty());
  EXPECT_EQ(reply->header("Content-Length").value_or(""), "0");

  // The same request again (a retransmission) gets the same To tag.
  ASSERT_TRUE(c->send(req.text).ok());
  auto again = c->read_reply(5s);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(header_param(again->header("To").value_or(""), "tag").value_or(""), to_tag);
}

// received= only when the sent-by differs from the source, or when rport asks for it (RFC 3581
// §4: then even if identical).
TEST(TlsTransport, ReceivedFollowsRfc3261AndRfc3581) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  SipRequest with_rport = c->make_options();  // Via: 127.0.0.1:<our port>;rport
  ASSERT_TRUE(c->send(with_rport.text).ok());
  auto reply = c->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  std::vector<std::string> vias = reply->vias();
  ASSERT_EQ(vias.size(), 1u);
  EXPECT_EQ(header_param(vias[0], "received").value_or(""), "127.0.0.1") << vias[0];
  EXPECT_EQ(header_param(vias[0], "rport").value_or(""), std::to_string(c->local_port()));

  std::string plain = c->make_options().text;  // the same without rport
  size_t rport = plain.find(";rport");
  ASSERT_NE(rport, std::string::npos);
  plain.erase(rport, strlen(";rport"));
  ASSERT_TRUE(c->send(plain).ok());
  auto reply2 = c->read_reply(5s);
  ASSERT_TRUE(reply2.ok()) << reply2.message();
  vias = reply2->vias();
  ASSERT_EQ(vias.size(), 1u);
  EXPECT_FALSE(header_param(vias[0], "received").has_value()) << vias[0];
  EXPECT_FALSE(header_param(vias[0], "rport").has_value()) << vias[0];
}

TEST(TlsTransport, OtherMethodsGetTheScriptsDefaultAndAckNothing) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  SipRequestSpec invite;
  invite.method = "INVITE";
  invite.body = "v=0\r\n";
  ASSERT_TRUE(c->send(c->make_options(invite).text).ok());
  auto reply = c->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 501);

  SipRequestSpec ack;
  ack.method = "ACK";
  ASSERT_TRUE(c->send(c->make_options(ack).text).ok());
  EXPECT_TRUE(c->expect_nothing(500ms));
  EXPECT_EQ(options_status(*c), 200);
}

TEST(TlsTransport, PipelinedRequestsAreAllAnsweredInOrder) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  std::string batch;
  for (uint32_t i = 1; i <= 10; ++i) {
    SipRequestSpec spec;
    spec.cseq = i;
    batch += c->make_options(spec).text;
  }
  ASSERT_TRUE(c->send(batch).ok());
  for (uint32_t i = 1; i <= 10; ++i) {
    auto reply = c->read_reply(5s);
    ASSERT_TRUE(reply.ok()) << "reply " << i << ": " << reply.message();
    EXPECT_EQ(reply->header("CSeq").value_or(""), std::to_string(i) + " OPTIONS");
  }
}

// Counts the application-data records a client receives (TLS 1.3 inner content type, so the
// session tickets, which are handshake records, do not count).
void count_app_records(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                       void* arg) {
  if (write_p == 0 && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
      *static_cast<const unsigned char*>(buf) == SSL3_RT_APPLICATION_DATA)
    ++*static_cast<int*>(arg);
}

// Reads until `text` holds `n` replies (bounded by the socket's receive timeout).
bool read_replies(SSL* ssl, std::string* text, size_t n) {
  auto count = [&] {
    size_t k = 0;
    for (size_t at = text->find("SIP/2.0 200"); at != std::string::npos;
         at = text->find("SIP/2.0 200", at + 1))
      ++k;
    return k;
  };
  for (int reads = 0; count() < n && reads < 1000; ++reads) {
    char buf[16384];
    int r = SSL_read(ssl, buf, sizeof buf);
    if (r <= 0) return false;
    text->append(buf, static_cast<size_t>(r));
  }
  return count() >= n;
}

TEST(TlsTransport, RepliesToOneReadLeaveInOneRecord) {
  // The worker's output batch: eight requests read at once are answered by one SSL_write, so
  // the client receives one record (and the server made one write()).
  auto srv = start_server();
  ASSERT_TRUE(srv);
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd);
  struct timeval tv = {5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv->tls_port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(ctx);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  SSL_set_fd(ssl.get(), fd.get());
  ASSERT_EQ(SSL_connect(ssl.get()), 1);
  int records = 0;
  SSL_set_msg_callback(ssl.get(), count_app_records);
  SSL_set_msg_callback_arg(ssl.get(), &records);

  struct sockaddr_in local = {};
  socklen_t len = sizeof local;
  getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&local), &len);
  SipHop hop;
  hop.local_ip = "127.0.0.1";
  hop.local_port = ntohs(local.sin_port);
  hop.peer_ip = "127.0.0.1";
  hop.peer_port = srv->tls_port();
  std::string batch;
  for (uint32_t i = 1; i <= 8; ++i) {
    SipRequestSpec spec;
    spec.cseq = i;
    batch += build_sip_request(spec, hop).text;
  }
  ASSERT_LT(batch.size(), 16000u);  // one record out
  ASSERT_EQ(SSL_write(ssl.get(), batch.data(), static_cast<int>(batch.size())),
            static_cast<int>(batch.size()));
  std::string replies;
  ASSERT_TRUE(read_replies(ssl.get(), &replies, 8)) << replies;
  EXPECT_EQ(records, 1);

  // A lone request afterwards is answered on its own (nothing waits for a batch to fill).
  std::string one = build_sip_request(SipRequestSpec{}, hop).text;
  ASSERT_EQ(SSL_write(ssl.get(), one.data(), static_cast<int>(one.size())),
            static_cast<int>(one.size()));
  ASSERT_TRUE(read_replies(ssl.get(), &replies, 9)) << replies;
  EXPECT_EQ(records, 2);
  SSL_set_msg_callback(ssl.get(), nullptr);
}

TEST(TlsTransport, RequestLargerThanOneRecordIsReassembled) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  SipRequestSpec spec;
  spec.method = "MESSAGE";
  spec.content_type = "text/plain";
  spec.body = std::string(40000, 'x');  // three TLS records, sent in one piece
  SipRequest req = c->make_options(spec);
  ASSERT_GT(req.text.size(), 40000u);
  // Written as records of at most 16 KiB back to back.
  std::vector<std::string> records;
  for (size_t off = 0; off < req.text.size(); off += 16384)
    records.push_back(req.text.substr(off, 16384));
  ASSERT_TRUE(c->send_in_records(records, 0ms).ok());
  auto reply = c->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 501);
  EXPECT_EQ(reply->header("Call-ID").value_or(""), req.call_id);
}

// Requests whose replies are larger than one TLS record (every Via is copied back).
std::vector<std::string> big_vias(int count) {
  std::vector<std::string> vias;
  for (int i = 0; i < count; ++i)
    vias.push_back("Via: SIP/2.0/TLS 192.0.2." + std::to_string(i + 1) + ":5061;branch=z9hG4bK" +
                   std::string(7900, static_cast<char>('a' + i)));
  return vias;
}

// The server writes replies of several TLS records to a client that is slow to read: what the
// socket does not take is queued and finished when it becomes writable again.
// Replies of several TLS records each, to a client that waits before reading: all arrive
// whole and in order. (That the server queues what the socket does not take is proven
// deterministically in tests/unit/stream_conn_test.cc; loopback socket buffers here are too
// large to force it with a handful of replies.)
TEST(TlsTransport, LargeRepliesArriveWhole) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  for (uint32_t i = 1; i <= 10; ++i) {
    SipRequestSpec spec;
    spec.cseq = i;
    spec.extra_headers = big_vias(6);
    SipRequest req = c->make_options(spec);
    ASSERT_GT(req.text.size(), 2u * 16384);
    ASSERT_TRUE(c->send(req.text).ok());
  }
  std::this_thread::sleep_for(300ms);
  for (uint32_t i = 1; i <= 10; ++i) {
    auto reply = c->read_reply(10s);
    ASSERT_TRUE(reply.ok()) << "reply " << i << ": " << reply.message();
    EXPECT_EQ(reply->status(), 200);
    EXPECT_EQ(reply->header("CSeq").value_or(""), std::to_string(i) + " OPTIONS");
    EXPECT_EQ(reply->vias().size(), 7u);
    EXPECT_GT(reply->text().size(), 2u * 16384);
  }
}

TEST(TlsTransport, PeerThatNeverReadsIsCutOff) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto bystander = connect(*srv);
  ASSERT_TRUE(bystander);
  TlsClientOptions small_window = default_tls_options();
  small_window.receive_buffer = 16384;
  auto c = connect(*srv, small_window);
  ASSERT_TRUE(c);
  SipRequestSpec spec;
  spec.extra_headers = big_vias(6);
  std::string req = c->make_options(spec).text;
  // How much the kernel buffers before the server sees a full socket depends on autotuning, so
  // keep sending (bounded) until the server gives up on this peer.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {
    if (!c->send(req).ok() || c->closed()) break;
  }
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_TRUE(srv->wait_for_log("peer is not reading"));
  EXPECT_EQ(options_status(*bystander), 200);
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:write_overflows"), 1u);
}

TEST(TlsTransport, CrlfCrlfPingGetsACrlfPong) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("\r\n\r\n").ok());
  auto pong = c->read_bytes(2, 5s);
  ASSERT_TRUE(pong.ok()) << pong.message();
  EXPECT_EQ(*pong, "\r\n");
  EXPECT_TRUE(c->expect_nothing(300ms));  // one pong, nothing else
  EXPECT_EQ(options_status(*c), 200);
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:crlf_pings"), 1u);
}

TEST(TlsTransport, NoPongWhenPingpongIsOff) {
  SipsdOptions o;
  o.modparams = {"modparam(\"proto_tls\", \"tls_crlf_pingpong\", 0)"};
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("\r\n\r\n").ok());
  EXPECT_TRUE(c->expect_nothing(500ms));
  EXPECT_EQ(options_status(*c), 200);
}

// tls_crlf_drop=0 (the default): a lone CRLF waits for what follows; a second CRLF in a later
// read completes a CRLFCRLF ping.
TEST(TlsTransport, LoneCrlfsInSeparateReadsMakeAPing) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_in_records({"\r\n", "\r\n"}, 150ms).ok());
  auto pong = c->read_bytes(2, 5s);
  ASSERT_TRUE(pong.ok()) << pong.message();
  EXPECT_EQ(*pong, "\r\n");
}

// tls_crlf_drop=0: a lone CRLF starts the message timer, as in OpenSIPS: a client that sends
// only that is closed after tcp_max_msg_time.
TEST(TlsTransport, LoneCrlfWithoutCrlfDropTimesOut) {
  SipsdOptions o;
  o.globals = {"tcp_max_msg_time=1"};
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("\r\n").ok());
  EXPECT_TRUE(c->wait_closed(4s)) << "still open after a lone CRLF";
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:msg_timeouts"), 1u);
}

// tls_crlf_drop=1: lone CRLFs are dropped silently, arm no timer, and are not pinged back.
TEST(TlsTransport, LoneCrlfIsDroppedWithCrlfDrop) {
  SipsdOptions o;
  o.globals = {"tcp_max_msg_time=1"};
  o.modparams = {"modparam(\"proto_tls\", \"tls_crlf_drop\", 1)"};
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send_in_records({"\r\n", "\r\n"}, 150ms).ok());
  EXPECT_TRUE(c->expect_nothing(1800ms));  // no pong, and still open past tcp_max_msg_time
  EXPECT_FALSE(c->closed());
  EXPECT_EQ(options_status(*c), 200);
}

TEST(TlsTransport, MessageInMoreReadsThanMaxMsgChunksClosesOnlyThatConnection) {
  auto srv = start_server();  // tls_max_msg_chunks = 4
  ASSERT_TRUE(srv);
  auto bystander = connect(*srv);
  ASSERT_TRUE(bystander);

  auto split = [](const std::string& text, size_t n) {
    std::vector<std::string> pieces;
    size_t step = text.size() / n;
    for (size_t i = 0; i < n; ++i)
      pieces.push_back(i + 1 == n ? text.substr(i * step) : text.substr(i * step, step));
    return pieces;
  };

  // Four records: within the limit.
  auto ok = connect(*srv);
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->send_in_records(split(ok->make_options().text, 4), 150ms).ok());
  auto reply = ok->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 200);

  // Five records: closed.
  auto bad = connect(*srv);
  ASSERT_TRUE(bad);
  ASSERT_TRUE(bad->send_in_records(split(bad->make_options().text, 5), 150ms).ok());
  EXPECT_TRUE(bad->wait_closed(5s));
  EXPECT_TRUE(srv->wait_for_log("tls_max_msg_chunks=4"));

  // Everyone else is unaffected.
  EXPECT_EQ(options_status(*bystander), 200);
  EXPECT_EQ(options_status(*ok), 200);
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:chunks_exceeded"), 1u);
}

TEST(TlsTransport, MissingContentLengthClosesTheConnection) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  std::string req = c->make_options().text;
  size_t cl = req.find("Content-Length: 0\r\n");
  ASSERT_NE(cl, std::string::npos);
  req.erase(cl, strlen("Content-Length: 0\r\n"));
  ASSERT_TRUE(c->send(req).ok());
  EXPECT_TRUE(c->wait_closed(5s));
  EXPECT_TRUE(srv->wait_for_log("without Content-Length"));
  auto other = connect(*srv);
  ASSERT_TRUE(other);
  EXPECT_EQ(options_status(*other), 200);
}

TEST(TlsTransport, OversizedMessageClosesTheConnection) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  SipRequestSpec spec;
  spec.method = "MESSAGE";
  spec.body = std::string(70000, 'x');
  std::string text = c->make_options(spec).text;
  std::vector<std::string> records;
  for (size_t off = 0; off < text.size(); off += 16384) records.push_back(text.substr(off, 16384));
  (void)c->send_in_records(records, 0ms);  // the server may close before the last record
  EXPECT_TRUE(c->wait_closed(5s));
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:oversized"), 1u);
}

TEST(TlsTransport, InvalidRequestGets400AndUnparsableInputCloses) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  std::string req = c->make_options().text;
  size_t ci = req.find("Call-ID:");
  ASSERT_NE(ci, std::string::npos);
  req.erase(ci, req.find("\r\n", ci) + 2 - ci);
  ASSERT_TRUE(c->send(req).ok());
  auto reply = c->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 400);
  EXPECT_NE(reply->reason().find("Call-ID"), std::string::npos) << reply->reason();
  EXPECT_EQ(options_status(*c), 200);  // still usable

  ASSERT_TRUE(c->send("\x01\x02 garbage that is not SIP\r\nContent-Length: 0\r\n\r\n").ok());
  EXPECT_TRUE(c->wait_closed(5s));
}

TEST(TlsTransport, IdleConnectionClosesAfterItsLifetime) {
  SipsdOptions o;
  o.globals = {"tcp_connection_lifetime=2"};
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  auto c = connect(*srv);
  ASSERT_TRUE(c);
  EXPECT_EQ(options_status(*c), 200);
  EXPECT_FALSE(c->wait_closed(1s));  // traffic refreshed it; not yet
  EXPECT_TRUE(c->wait_closed(5s));
  EXPECT_EQ(c->close_reason(), "close_notify");
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:idle_timeouts"), 1u);
}

TEST(TlsTransport, HandshakeThatNeverStartsIsCutOff) {
  SipsdOptions o;
  o.globals = {"tcp_max_msg_time=1"};
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  // A TCP connection to the TLS port that never sends a ClientHello.
  auto raw = SipTestClient::connect_tcp("127.0.0.1", srv->tls_port());
  ASSERT_TRUE(raw.ok()) << raw.message();
  EXPECT_TRUE((*raw)->wait_closed(4s));
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:handshake_timeouts"), 1u);
}

TEST(TlsTransport, VersionsBelowTls12AreRefused) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  TlsClientOptions o = default_tls_options();
  o.min_version = TLS1_VERSION;
  o.max_version = TLS1_1_VERSION;
  o.cipher_list = "DEFAULT:@SECLEVEL=0";
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), o);
  EXPECT_FALSE(c.ok());
  auto good = connect(*srv);
  ASSERT_TRUE(good);
  EXPECT_EQ(options_status(*good), 200);
  auto stats = srv->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->get("tls:handshakes_failed"), 1u);
}

}  // namespace
}  // namespace sipsd::test
