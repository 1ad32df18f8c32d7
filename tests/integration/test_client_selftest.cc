// Tests of the integration-test tools themselves: subprocess.h, and SipTestClient against
// `openssl s_server` (TLS) and against sockets the test holds (TCP). No sipsd involved.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "proto_tls/stream_framer.h"
#include "tests/integration/openssl_server.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- helpers --------------------------------------------------------------------------------

TlsClientOptions verified(milliseconds timeout = 3s) {
  TlsClientOptions o;
  o.ca_file = test_cert("ca.pem");
  o.verify_name = "127.0.0.1";
  o.timeout = timeout;
  return o;
}

// s_server -rev sends each line back reversed, ending in "\n": send a SIP message with its lines
// pre-reversed and it comes back as a valid SIP message (with LF line ends).
std::string reverse_lines(std::string_view msg) {
  std::string out;
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t end = msg.find("\r\n", pos);
    if (end == std::string_view::npos) end = msg.size();
    std::string line(msg.substr(pos, end - pos));
    std::reverse(line.begin(), line.end());
    out += line + "\r\n";
    pos = end + 2;
  }
  return out;
}

// A plain TCP listener the test controls directly.
class Listener {
 public:
  explicit Listener(const char* ip = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sa.sin_addr);
    socklen_t len = sizeof sa;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ADD_FAILURE() << "listener: " << strerror(errno);
    }
    port_ = ntohs(sa.sin_port);
  }
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }

  // Accepts one connection (bounded); returns its fd (or -1) and the peer address.
  int accept_one(std::string* peer_ip = nullptr, uint16_t* peer_port = nullptr,
                 milliseconds timeout = 2s) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    int c = accept4(fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC);
    char buf[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
    if (peer_ip) *peer_ip = buf;
    if (peer_port) *peer_port = ntohs(sa.sin_port);
    return c;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

void write_fd(int fd, std::string_view s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

const char kReply[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKa;received=127.0.0.1;rport=5061\r\n"
    "v: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKb, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKc\r\n"
    "From: \"Alice; A.\" <sip:alice@example.com;transport=tls>;tag=f1\r\n"
    "t: <sip:bob@example.com>;tag=t1\r\n"
    "i: abc@host\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Subject: first part\r\n"
    "  second part\r\n"
    "l: 4\r\n"
    "\r\n"
    "body";

// ---- subprocess.h ---------------------------------------------------------------------------

TEST(Subprocess, RunCapturesStdoutStderrAndExitCode) {
  RunResult r = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.started) << r.describe();
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.status.code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.ok());
}

TEST(Subprocess, RunFeedsStdin) {
  RunOptions o;
  o.stdin_data = std::string(200000, 'x') + "end";  // more than a pipe holds
  RunResult r = run({"cat"}, o);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, o.stdin_data);
}

TEST(Subprocess, RunKillsAtTimeout) {
  RunOptions o;
  o.timeout = 200ms;
  auto t0 = Clock::now();
  RunResult r = run({"sleep", "30"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status.signal, SIGKILL) << r.status.describe();
  EXPECT_GE(since(t0), 190ms);
  EXPECT_LT(since(t0), 1500ms);
}

TEST(Subprocess, RunDoesNotWaitForWhatTheChildLeftBehind) {
  auto t0 = Clock::now();
  RunResult r = run({"sh", "-c", "sleep 30 & echo $!"});  // the sleep holds stdout open
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_LT(since(t0), 2s);
  pid_t orphan = std::atoi(r.out.c_str());
  ASSERT_GT(orphan, 0);
  // It was in the child's process group, so it got SIGKILL: gone, or a zombie awaiting init.
  bool dead = false;
  for (int i = 0; i < 100 && !dead; ++i) {
    std::ifstream stat("/proc/" + std::to_string(orphan) + "/stat");
    std::string pid, comm, state;
    dead = !(stat >> pid >> comm >> state) || state == "Z";
    if (!dead) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dead);
}

TEST(Subprocess, RunCapsOutput) {
  RunOptions o;
  o.output_cap = 1000;
  RunResult r = run({"head", "-c", "3000000", "/dev/zero"}, o);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.out_truncated);
}

TEST(Subprocess, MissingBinaryIsAnError) {
  RunResult r = run({"sipsd-no-such-binary"});
  EXPECT_FALSE(r.started);
  EXPECT_TRUE(contains(r.error, "not found")) << r.error;
  RunOptions o;
  o.cwd = "/nonexistent-dir";
  r = run({"true"}, o);
  EXPECT_FALSE(r.started);
  EXPECT_TRUE(contains(r.error, "chdir")) << r.error;
}

TEST(Subprocess, ChildInheritsOnlyWhatItIsGiven) {
  int leak = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD, 40);  // not CLOEXEC
  ASSERT_GE(leak, 40);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  RunOptions o;
  o.inherit_fds = {{p[1], 7}};
  o.env = {"SIPSD_TEST_VAR=hello"};
  std::string script = "test -e /proc/self/fd/" + std::to_string(leak) +
                       " && echo leaked; echo \"$SIPSD_TEST_VAR\" >&7";
  RunResult r = run({"sh", "-c", script}, o);
  close(p[1]);
  close(leak);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "");
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "hello\n");
}

TEST(Subprocess, ChildStopsWithSigterm) {
  auto c = Child::start({"sleep", "30"});
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_TRUE(c->running());
  pid_t pid = c->pid();
  auto t0 = Clock::now();
  ExitStatus s = c->stop(2s);
  EXPECT_EQ(s.signal, SIGTERM) << s.describe();
  EXPECT_LT(since(t0), 1s);
  EXPECT_FALSE(c->running());
  int reaped = waitpid(pid, nullptr, WNOHANG);
  int error = errno;
  EXPECT_EQ(reaped, -1);  // already reaped: no zombie left
  EXPECT_EQ(error, ECHILD);
}

TEST(Subprocess, ChildStopEscalatesToSigkill) {
  auto c = Child::start({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"});
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_TRUE(c->wait_for_line("ready", 2s)) << c->describe();
  pid_t pid = c->pid();
  auto t0 = Clock::now();
  ExitStatus s = c->stop(300ms);
  EXPECT_EQ(s.signal, SIGKILL) << s.describe();
  EXPECT_GE(since(t0), 290ms);
  EXPECT_LT(since(t0), 2s);
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(c->wait_for_line("never printed", 10ms), std::nullopt);
}

TEST(Subprocess, ChildStdinAndExitStatus) {
  ChildOptions o;
  o.stdin_pipe = true;
  auto c = Child::start({"sh", "-c", "read line; echo \"got $line\"; exit 4"}, o);
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_TRUE(c->write_stdin("ping\n"));
  auto line = c->wait_for_line("got", 2s);
  ASSERT_TRUE(line) << c->describe();
  EXPECT_EQ(*line, "got ping");
  auto s = c->wait(2s);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->exited);
  EXPECT_EQ(s->code, 4);
}

// ---- the SIP request builder and parser -----------------------------------------------------

TEST(SipMessageParse, ReplyWithCompactFormsFoldingAndBody) {
  auto m = SipMessage::parse(kReply);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_FALSE(m->is_request());
  EXPECT_EQ(m->status(), 200);
  EXPECT_EQ(m->reason(), "OK");
  EXPECT_EQ(m->header("call-id"), "abc@host");
  EXPECT_EQ(m->header("I"), "abc@host");
  EXPECT_EQ(m->header("CONTENT-LENGTH"), "4");
  EXPECT_EQ(m->header("to"), "<sip:bob@example.com>;tag=t1");
  EXPECT_EQ(m->header("Subject"), "first part second part");
  EXPECT_EQ(m->header("Contact"), std::nullopt);
  EXPECT_EQ(m->headers("via").size(), 2u);
  std::vector<std::string> vias = m->vias();
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[1], "SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKb");
  EXPECT_EQ(vias[2], "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKc");
  EXPECT_EQ(header_param(vias[0], "received"), "127.0.0.1");
  EXPECT_EQ(header_param(vias[0], "RPORT"), "5061");
  EXPECT_EQ(header_param(vias[0], "maddr"), std::nullopt);
  EXPECT_EQ(header_param(*m->header("from"), "tag"), "f1");
  EXPECT_EQ(header_param(*m->header("from"), "transport"), std::nullopt);  // a URI parameter
  EXPECT_EQ(m->body(), "body");
}

TEST(SipMessageParse, RejectsBrokenMessages) {
  EXPECT_FALSE(SipMessage::parse("SIP/2.0 2000 OK\r\n\r\n").ok());
  EXPECT_FALSE(SipMessage::parse("SIP/2.0 200 OK\r\nVia: x\r\n").ok());  // no empty line
  EXPECT_FALSE(SipMessage::parse("SIP/2.0 200 OK\r\nl: 5\r\n\r\nabc").ok());
  EXPECT_FALSE(SipMessage::parse("SIP/2.0 200 OK\r\nno colon\r\n\r\n").ok());
  EXPECT_FALSE(SipMessage::parse("OPTIONS sip:x SIP/3.0\r\n\r\n").ok());
  auto req = SipMessage::parse("OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n");
  ASSERT_TRUE(req.ok()) << req.message();
  EXPECT_TRUE(req->is_request());
  EXPECT_EQ(req->method(), "OPTIONS");
  EXPECT_EQ(req->uri(), "sip:x");
}

TEST(SipRequestBuilder, BuildsAFramableUniqueRequest) {
  SipHop hop;
  hop.transport = "TLS";
  hop.local_ip = "127.0.0.2";
  hop.local_port = 40000;
  hop.peer_ip = "127.0.0.1";
  hop.peer_port = 5061;
  SipRequestSpec spec;
  spec.user_agent = "selftest";
  SipRequest a = build_sip_request(spec, hop);
  SipRequest b = build_sip_request(spec, hop);
  EXPECT_NE(a.branch, b.branch);
  EXPECT_NE(a.call_id, b.call_id);
  EXPECT_NE(a.from_tag, b.from_tag);

  FramerLimits limits;
  StreamFramer framer(limits);
  Frame f = framer.next(a.text);
  ASSERT_EQ(f.kind, FrameKind::kMessage);
  EXPECT_EQ(f.consumed(), a.text.size());

  auto m = SipMessage::parse(a.text);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->method(), "OPTIONS");
  EXPECT_EQ(m->uri(), "sip:127.0.0.1:5061;transport=tls");
  ASSERT_EQ(m->vias().size(), 1u);
  std::string via = m->vias()[0];
  EXPECT_EQ(via.rfind("SIP/2.0/TLS 127.0.0.2:40000;", 0), 0u) << via;
  EXPECT_EQ(header_param(via, "branch"), a.branch);
  EXPECT_EQ(a.branch.rfind("z9hG4bK", 0), 0u);
  EXPECT_EQ(header_param(via, "rport"), "");
  EXPECT_EQ(header_param(*m->header("from"), "tag"), a.from_tag);
  EXPECT_EQ(m->header("call-id"), a.call_id);
  EXPECT_EQ(m->header("cseq"), "1 OPTIONS");
  EXPECT_EQ(m->header("max-forwards"), "70");
  EXPECT_EQ(m->header("user-agent"), "selftest");
  EXPECT_EQ(m->header("content-length"), "0");
  EXPECT_EQ(m->header("contact"), std::nullopt);

  spec.method = "INVITE";
  spec.body = "v=0\r\n";
  spec.cseq = 7;
  SipRequest inv = build_sip_request(spec, hop);
  auto mi = SipMessage::parse(inv.text);
  ASSERT_TRUE(mi.ok()) << mi.message();
  EXPECT_EQ(mi->header("cseq"), "7 INVITE");
  EXPECT_EQ(mi->header("content-length"), "5");
  EXPECT_EQ(mi->header("content-type"), "application/sdp");
  EXPECT_EQ(mi->header("contact"), "<sip:alice@127.0.0.2:40000;transport=tls>");
  EXPECT_EQ(mi->body(), "v=0\r\n");
}

// ---- SipTestClient over TLS, against openssl s_server ---------------------------------------

TEST(SipTestClientTls, VerifiesServerAgainstCa) {
  auto server = start_s_server();
  ASSERT_TRUE(server.ok()) << server.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", server->port, verified());
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ((*c)->tls_version(), "TLSv1.3");
  EXPECT_FALSE((*c)->cipher().empty());
  EXPECT_EQ((*c)->verify_result(), X509_V_OK);
  EXPECT_TRUE(contains((*c)->peer_subject(), "localhost")) << (*c)->peer_subject();
  EXPECT_EQ((*c)->local_ip(), "127.0.0.1");
  EXPECT_NE((*c)->local_port(), 0);
  EXPECT_EQ((*c)->transport(), "TLS");
}

TEST(SipTestClientTls, RejectsServerFromAnotherCa) {
  auto server = start_s_server();
  ASSERT_TRUE(server.ok()) << server.message();
  TlsClientOptions o = verified();
  o.ca_file = test_cert("ca2.pem");
  auto c = SipTestClient::connect_tls("127.0.0.1", server->port, o);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.message(), "certificate verify failed")) << c.message();
  EXPECT_TRUE(contains(c.message(), "unable to get local issuer certificate")) << c.message();

  o = verified();
  o.verify_name = "127.0.0.9";  // right CA, wrong name
  c = SipTestClient::connect_tls("127.0.0.1", server->port, o);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.message(), "IP address mismatch")) << c.message();
}

TEST(SipTestClientTls, PresentsClientCertificate) {
  auto server =
      start_s_server({"-Verify", "1", "-verify_return_error", "-CAfile", test_cert("ca.pem")});
  ASSERT_TRUE(server.ok()) << server.message();
  TlsClientOptions o = verified();
  o.cert_file = test_cert("client.pem");
  o.key_file = test_cert("client-key.pem");
  auto c = SipTestClient::connect_tls("127.0.0.1", server->port, o);
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_TRUE((*c)->send("olleh\r\n"));
  auto echo = (*c)->read_bytes(6, 2s);
  ASSERT_TRUE(echo.ok()) << echo.message();
  EXPECT_EQ(echo.value(), "hello\n");
  auto subject = server->child.wait_for_line("alice.example.com", 2s);
  EXPECT_TRUE(subject) << server->child.describe();
}

TEST(SipTestClientTls, HandshakeFailsWithoutRequiredClientCertificate) {
  auto server =
      start_s_server({"-Verify", "1", "-verify_return_error", "-CAfile", test_cert("ca.pem")});
  ASSERT_TRUE(server.ok()) << server.message();
  // TLS 1.2: the server refuses during the handshake.
  TlsClientOptions o = verified();
  o.max_version = TLS1_2_VERSION;
  auto c12 = SipTestClient::connect_tls("127.0.0.1", server->port, o);
  ASSERT_FALSE(c12.ok());
  EXPECT_TRUE(contains(c12.message(), "alert")) << c12.message();

  // TLS 1.3: the client finishes first; the server's alert arrives afterwards.
  auto c13 = SipTestClient::connect_tls("127.0.0.1", server->port, verified());
  if (c13.ok()) {
    EXPECT_TRUE((*c13)->wait_closed(2s));
    EXPECT_TRUE(contains((*c13)->close_reason(), "certificate required")) << (*c13)->close_reason();
  } else {
    EXPECT_TRUE(contains(c13.message(), "certificate required")) << c13.message();
  }

  // A certificate from the wrong CA is refused as well.
  o = verified();
  o.cert_file = test_cert("client-ca2.pem");
  o.key_file = test_cert("client-ca2-key.pem");
  auto wrong = SipTestClient::connect_tls("127.0.0.1", server->port, o);
  if (wrong.ok()) {
    EXPECT_TRUE((*wrong)->wait_closed(2s));
    EXPECT_TRUE(contains((*wrong)->close_reason(), "unknown ca")) << (*wrong)->close_reason();
  } else {
    EXPECT_TRUE(contains(wrong.message(), "unknown ca")) << wrong.message();
  }
}

TEST(SipTestClientTls, RoundTripOfSipMessages) {
  auto server = start_s_server();
  ASSERT_TRUE(server.ok()) << server.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", server->port, verified());
  ASSERT_TRUE(c.ok()) << c.message();
  SipTestClient& client = **c;

  // Two messages in one record, the second split across two more records.
  std::string wire = reverse_lines(kReply);
  std::string two = wire + wire;
  ASSERT_TRUE(client.send_in_records(
      {two.substr(0, wire.size() + 30), two.substr(wire.size() + 30)}, 20ms));
  for (int i = 0; i < 2; ++i) {
    auto reply = client.read_reply(2s);
    ASSERT_TRUE(reply.ok()) << reply.message();
    EXPECT_EQ(reply->status(), 200);
    EXPECT_EQ(reply->vias().size(), 3u);
    EXPECT_EQ(reply->header("call-id"), "abc@host");
    EXPECT_EQ(reply->body(), "body");
  }
  // s_server ended the body line with "\n": it stays buffered (read_message would skip it).
  auto rest = client.read_bytes(1, 1s);
  ASSERT_TRUE(rest.ok()) << rest.message();
  EXPECT_EQ(rest.value(), "\n");
  EXPECT_TRUE(client.expect_nothing(100ms));

  // A request built by the client survives the trip as well.
  SipRequest req = client.make_options();
  EXPECT_TRUE(contains(req.text, "Via: SIP/2.0/TLS 127.0.0.1:" +
                                     std::to_string(client.local_port()) + ";branch=z9hG4bK"));
  ASSERT_TRUE(client.send(reverse_lines(req.text)));
  auto back = client.read_reply(2s);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->method(), "OPTIONS");
  EXPECT_EQ(back->header("call-id"), req.call_id);

  client.close();
  EXPECT_TRUE(client.closed());
  EXPECT_FALSE(client.send("x"));
}

TEST(SipTestClientTls, ResumesSavedSession) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    auto server = start_s_server();
    ASSERT_TRUE(server.ok()) << server.message();
    TlsClientOptions o = verified();
    o.min_version = o.max_version = version;
    auto first = SipTestClient::connect_tls("127.0.0.1", server->port, o);
    ASSERT_TRUE(first.ok()) << first.message();
    EXPECT_FALSE((*first)->session_reused());
    SslSessionPtr session = (*first)->session();
    ASSERT_TRUE(session) << "no resumable session";
    (*first)->close();

    o.session = session;
    auto second = SipTestClient::connect_tls("127.0.0.1", server->port, o);
    ASSERT_TRUE(second.ok()) << second.message();
    EXPECT_TRUE((*second)->session_reused());
    ASSERT_TRUE((*second)->send("cba\r\n"));
    auto echo = (*second)->read_bytes(4, 2s);
    ASSERT_TRUE(echo.ok()) << echo.message();
    EXPECT_EQ(echo.value(), "abc\n");
  }
}

TEST(SipTestClientTls, TimeoutsReturnInTime) {
  auto server = start_s_server();
  ASSERT_TRUE(server.ok()) << server.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", server->port, verified());
  ASSERT_TRUE(c.ok()) << c.message();
  auto t0 = Clock::now();
  auto m = (*c)->read_message(200ms);
  EXPECT_FALSE(m.ok());
  EXPECT_TRUE(contains(m.message(), "no complete SIP message")) << m.message();
  EXPECT_GE(since(t0), 190ms);
  EXPECT_LT(since(t0), 700ms);
  t0 = Clock::now();
  EXPECT_TRUE((*c)->expect_nothing(150ms));
  EXPECT_FALSE((*c)->wait_closed(100ms));
  EXPECT_LT(since(t0), 700ms);

  // A peer that accepts TCP but never speaks TLS: the handshake gives up at the timeout.
  Listener silent;
  t0 = Clock::now();
  auto hs = SipTestClient::connect_tls("127.0.0.1", silent.port(), verified(300ms));
  EXPECT_FALSE(hs.ok());
  EXPECT_TRUE(contains(hs.message(), "timed out")) << hs.message();
  EXPECT_GE(since(t0), 290ms);
  EXPECT_LT(since(t0), 1s);

  // Nobody listening: refused at once.
  uint16_t closed_port = free_tcp_port();
  auto refused = SipTestClient::connect_tls("127.0.0.1", closed_port, verified());
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.message(), "refused")) << refused.message();
}

// ---- SipTestClient over TCP, against a socket the test holds --------------------------------

TEST(SipTestClientTcp, BindsSourceAddressAndFramesMessages) {
  Listener listener;
  auto c = SipTestClient::connect_tcp("127.0.0.1", listener.port(), 2s, "127.0.0.2");
  ASSERT_TRUE(c.ok()) << c.message();
  SipTestClient& client = **c;
  std::string peer_ip;
  uint16_t peer_port = 0;
  int s = listener.accept_one(&peer_ip, &peer_port);
  ASSERT_GE(s, 0);
  EXPECT_EQ(peer_ip, "127.0.0.2");
  EXPECT_EQ(client.local_ip(), "127.0.0.2");
  EXPECT_EQ(peer_port, client.local_port());
  EXPECT_EQ(client.transport(), "TCP");
  EXPECT_EQ(client.tls_version(), "");

  // A pong, then a message and the start of the next one.
  std::string msg(kReply);
  write_fd(s, "\r\n");
  auto pong = client.read_bytes(2, 1s);
  ASSERT_TRUE(pong.ok()) << pong.message();
  EXPECT_EQ(pong.value(), "\r\n");
  write_fd(s, "\r\n" + msg + msg.substr(0, 20));
  auto first = client.read_reply(1s);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->body(), "body");
  EXPECT_FALSE(client.read_message(100ms).ok());  // the second is incomplete
  EXPECT_EQ(client.buffered(), 20u);
  write_fd(s, msg.substr(20));
  auto second = client.read_message(1s);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(second.value(), msg);

  // A framing error is reported, not waited out.
  write_fd(s, "SIP/2.0 200 OK\r\nVia: x\r\n\r\n");
  auto bad = client.read_message(1s);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.message(), "without Content-Length")) << bad.message();

  // The peer closes: wait_closed sees EOF.
  close(s);
  EXPECT_TRUE(client.wait_closed(1s));
  EXPECT_EQ(client.close_reason(), "EOF");
  EXPECT_FALSE(client.expect_nothing(10ms));
}

TEST(SipTestClientTcp, SendInRecordsArrivesInSeparateReads) {
  Listener listener;
  auto c = SipTestClient::connect_tcp("127.0.0.1", listener.port(), 2s);
  ASSERT_TRUE(c.ok()) << c.message();
  int s = listener.accept_one();
  ASSERT_GE(s, 0);
  std::vector<std::string> reads;
  std::thread reader([&] {  // bounded: stops at EOF or after 3 s
    auto deadline = Clock::now() + 3s;
    char buf[256];
    while (Clock::now() < deadline) {
      pollfd p{s, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      ssize_t n = read(s, buf, sizeof buf);
      if (n <= 0) break;
      reads.emplace_back(buf, static_cast<size_t>(n));
    }
  });
  ASSERT_TRUE((*c)->send_in_records({"OPTIONS ", "sip:x ", "SIP/2.0\r\n"}, 100ms));
  (*c)->close();
  reader.join();
  close(s);
  EXPECT_EQ(reads, (std::vector<std::string>{"OPTIONS ", "sip:x ", "SIP/2.0\r\n"}));
}

}  // namespace
}  // namespace sipsd::test
