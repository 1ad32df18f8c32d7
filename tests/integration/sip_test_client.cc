#include "tests/integration/sip_test_client.h"

#include "tls_mgm/openssl_errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "tests/integration/subprocess.h"

namespace sipsd::test {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxBuffered = size_t{8} << 20;  // receive buffer cap
constexpr size_t kReadChunk = 16384 + 512;        // one TLS record of plaintext, and then some
constexpr size_t kMaxSipMessage = size_t{1} << 20;

FramerLimits client_framer_limits() {
  FramerLimits l;
  l.max_msg_size = kMaxSipMessage;
  l.crlf_pingpong = false;  // a client does not answer pings; pongs are just skipped
  l.crlf_drop = false;
  l.max_msg_chunks = 1 << 30;  // end_read_event() is never called
  return l;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Printable preview of buffered bytes for error messages.
std::string preview(std::string_view s, size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      out += strprintf("\\x%02x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// Compact header forms (RFC 3261 §7.3.3 and later RFCs) to their long names, lower case.
std::string canonical_header_name(std::string_view name) {
  std::string n = lower(trim(name));
  if (n.size() != 1) return n;
  switch (n[0]) {
    case 'a':
      return "accept-contact";
    case 'b':
      return "referred-by";
    case 'c':
      return "content-type";
    case 'd':
      return "request-disposition";
    case 'e':
      return "content-encoding";
    case 'f':
      return "from";
    case 'i':
      return "call-id";
    case 'j':
      return "reject-contact";
    case 'k':
      return "supported";
    case 'l':
      return "content-length";
    case 'm':
      return "contact";
    case 'n':
      return "identity-info";
    case 'o':
      return "event";
    case 'r':
      return "refer-to";
    case 's':
      return "subject";
    case 't':
      return "to";
    case 'u':
      return "allow-events";
    case 'v':
      return "via";
    case 'x':
      return "session-expires";
    case 'y':
      return "identity";
    default:
      return n;
  }
}

bool parse_ip(const std::string& ip, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

void address_of(const sockaddr_storage& sa, std::string* ip, uint16_t* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (sa.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    *port = ntohs(v4->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    *port = ntohs(v6->sin6_port);
  }
  *ip = buf;
}

std::string host_port(const std::string& ip, uint16_t port) {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

// ---- requests -------------------------------------------------------------------------------

std::string unique_token() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid());
  }();
  static std::atomic<uint64_t> counter{0};
  return strprintf("%016llx%llx", static_cast<unsigned long long>(seed),
                   static_cast<unsigned long long>(counter.fetch_add(1) + 1));
}

SipRequest build_sip_request(const SipRequestSpec& spec, const SipHop& hop) {
  SipRequest r;
  r.method = spec.method;
  r.cseq = spec.cseq;
  r.branch = spec.branch.empty() ? "z9hG4bK" + unique_token() : spec.branch;
  r.call_id = spec.call_id.empty() ? unique_token() + "@sipsd.test" : spec.call_id;
  r.from_tag = spec.from_tag.empty() ? unique_token().substr(8) : spec.from_tag;
  std::string transport_param = ";transport=" + lower(hop.transport);
  std::string ruri = spec.request_uri.empty()
                         ? "sip:" + host_port(hop.peer_ip, hop.peer_port) + transport_param
                         : spec.request_uri;
  std::string to = spec.to_uri.empty() ? ruri : spec.to_uri;
  std::string contact = spec.contact;
  if (contact.empty() && (r.method == "INVITE" || r.method == "REGISTER" ||
                          r.method == "SUBSCRIBE" || r.method == "REFER")) {
    contact = "sip:alice@" + host_port(hop.local_ip, hop.local_port) + transport_param;
  }

  std::string& m = r.text;
  m.reserve(512 + spec.body.size());
  m += r.method + " " + ruri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + hop.transport + " " + host_port(hop.local_ip, hop.local_port) +
       ";branch=" + r.branch + ";rport\r\n";
  m += "Max-Forwards: " + std::to_string(spec.max_forwards) + "\r\n";
  m += "From: <" + spec.from_uri + ">;tag=" + r.from_tag + "\r\n";
  m += "To: <" + to + ">\r\n";
  m += "Call-ID: " + r.call_id + "\r\n";
  m += "CSeq: " + std::to_string(r.cseq) + " " + r.method + "\r\n";
  if (!contact.empty()) m += "Contact: <" + contact + ">\r\n";
  if (!spec.user_agent.empty()) m += "User-Agent: " + spec.user_agent + "\r\n";
  for (const auto& h : spec.extra_headers) m += h + "\r\n";
  if (!spec.body.empty()) m += "Content-Type: " + spec.content_type + "\r\n";
  m += "Content-Length: " + std::to_string(spec.body.size()) + "\r\n\r\n";
  m += spec.body;
  return r;
}

// ---- parsing --------------------------------------------------------------------------------

Result<SipMessage> SipMessage::parse(std::string_view text) {
  SipMessage msg;
  msg.text_ = std::string(text);
  size_t pos = 0;
  // Reads one line (without CR LF) from pos; false at the end of the text without a LF.
  auto next_line = [&](std::string_view* line) {
    size_t lf = text.find('\n', pos);
    if (lf == std::string_view::npos) return false;
    size_t end = (lf > pos && text[lf - 1] == '\r') ? lf - 1 : lf;
    *line = text.substr(pos, end - pos);
    pos = lf + 1;
    return true;
  };

  std::string_view line;
  if (!next_line(&line)) return make_error("no start line: '" + preview(text) + "'");
  if (line.substr(0, 8) == "SIP/2.0 ") {
    std::string_view rest = line.substr(8);
    if (rest.size() < 3 ||
        !std::all_of(rest.begin(), rest.begin() + 3, [](char c) { return c >= '0' && c <= '9'; })) {
      return make_error("bad status line: '" + preview(line) + "'");
    }
    msg.status_ = std::stoi(std::string(rest.substr(0, 3)));
    if (msg.status_ < 100 || msg.status_ > 699 || (rest.size() > 3 && rest[3] != ' ')) {
      return make_error("bad status line: '" + preview(line) + "'");
    }
    msg.reason_ = rest.size() > 4 ? std::string(rest.substr(4)) : "";
  } else {
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.substr(sp2 + 1) != "SIP/2.0" || sp1 == 0) {
      return make_error("bad start line: '" + preview(line) + "'");
    }
    msg.method_ = std::string(line.substr(0, sp1));
    msg.uri_ = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  }

  bool ended = false;
  while (next_line(&line)) {
    if (line.empty()) {
      ended = true;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {  // folded continuation
      if (msg.headers_.empty()) return make_error("continuation line before any header");
      std::string& v = msg.headers_.back().value;
      v += ' ';
      v += trim(line);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || trim(line.substr(0, colon)).empty()) {
      return make_error("bad header line: '" + preview(line) + "'");
    }
    msg.headers_.push_back(
        {canonical_header_name(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  if (!ended) return make_error("no empty line after the headers");

  std::string_view body = text.substr(pos);
  if (auto cl = msg.header("content-length")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(cl->c_str(), &end, 10);
    if (cl->empty() || *end != '\0') return make_error("bad Content-Length '" + *cl + "'");
    if (n > body.size()) {
      return make_error(strprintf("body has %zu bytes, Content-Length says %llu", body.size(), n));
    }
    body = body.substr(0, static_cast<size_t>(n));
  }
  msg.body_ = std::string(body);
  return msg;
}

std::optional<std::string> SipMessage::header(std::string_view name) const {
  std::string want = canonical_header_name(name);
  for (const auto& h : headers_) {
    if (h.name == want) return h.value;
  }
  return std::nullopt;
}

std::vector<std::string> SipMessage::headers(std::string_view name) const {
  std::string want = canonical_header_name(name);
  std::vector<std::string> out;
  for (const auto& h : headers_) {
    if (h.name == want) out.push_back(h.value);
  }
  return out;
}

std::vector<std::string> SipMessage::vias() const {
  std::vector<std::string> out;
  for (const auto& v : headers("via")) {
    for (auto& part : split_header_list(v)) out.push_back(std::move(part));
  }
  return out;
}

std::vector<std::string> SipMessage::header_names() const {
  std::vector<std::string> out;
  for (const auto& h : headers_) out.push_back(h.name);
  return out;
}

std::vector<std::string> split_header_list(std::string_view value) {
  std::vector<std::string> out;
  auto push = [&](std::string_view part) {
    part = trim(part);
    if (!part.empty()) out.emplace_back(part);
  };
  bool quoted = false;
  int angle = 0;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // an escaped character
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      ++angle;
    } else if (c == '>' && angle > 0) {
      --angle;
    } else if (c == ',' && angle == 0) {
      push(value.substr(start, i - start));
      start = i + 1;
    }
  }
  push(value.substr(start));
  return out;
}

std::optional<std::string> header_param(std::string_view value, std::string_view name) {
  std::string want = lower(name);
  bool quoted = false;
  int angle = 0;
  size_t i = 0;
  // Walk to each ';' that is outside quotes and <...>, then compare the parameter name.
  while (i < value.size()) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') ++i;
      if (c == '"') quoted = false;
      ++i;
      continue;
    }
    if (c == '"') quoted = true;
    if (c == '<') ++angle;
    if (c == '>' && angle > 0) --angle;
    if (c == ',' && angle == 0) return std::nullopt;  // a next list element: stop at the first
    if (c != ';' || angle != 0) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    bool q = false;
    while (end < value.size() && (q || (value[end] != ';' && value[end] != ','))) {
      if (value[end] == '"') q = !q;
      ++end;
    }
    std::string_view param = value.substr(i + 1, end - i - 1);
    size_t eq = param.find('=');
    std::string_view pname = trim(param.substr(0, eq));
    if (lower(pname) == want) {
      if (eq == std::string_view::npos) return std::string();
      std::string_view pval = trim(param.substr(eq + 1));
      if (pval.size() >= 2 && pval.front() == '"' && pval.back() == '"') {
        pval = pval.substr(1, pval.size() - 2);
      }
      return std::string(pval);
    }
    i = end;
  }
  return std::nullopt;
}

// ---- the client -----------------------------------------------------------------------------

SipTestClient::SipTestClient() : framer_(client_framer_limits()) {}

SipTestClient::~SipTestClient() {
  close();
}

Result<SipTestClient::Ptr> SipTestClient::connect_socket(const std::string& ip, uint16_t port,
                                                         const std::string& local_ip,
                                                         int receive_buffer,
                                                         Clock::time_point deadline) {
  const std::string where = host_port(ip, port);
  sockaddr_storage peer;
  socklen_t peer_len = 0;
  if (!parse_ip(ip, port, &peer, &peer_len)) return make_error(where + ": not an IP address");
  Ptr c(new SipTestClient());
  c->fd_ = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd_ < 0) return make_error(where + ": socket: " + strerror(errno));
  if (!local_ip.empty()) {
    sockaddr_storage local;
    socklen_t local_len = 0;
    if (!parse_ip(local_ip, 0, &local, &local_len) || local.ss_family != peer.ss_family) {
      return make_error(where + ": bad local address '" + local_ip + "'");
    }
    if (bind(c->fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      return make_error(where + ": bind to " + local_ip + ": " + strerror(errno));
    }
  }
  int one = 1;
  setsockopt(c->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // one send = one segment
  // Before connect(), so the window is fixed from the start (no autotuning).
  if (receive_buffer > 0)
    setsockopt(c->fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);

  if (::connect(c->fd_, reinterpret_cast<sockaddr*>(&peer), peer_len) != 0) {
    if (errno != EINPROGRESS) return make_error(where + ": connect: " + strerror(errno));
    if (!c->wait_io(POLLOUT, deadline)) return make_error(where + ": connect: timed out");
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return make_error(where + ": connect: " + strerror(err));
  }
  sockaddr_storage sa;
  socklen_t len = sizeof sa;
  if (getsockname(c->fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    address_of(sa, &c->local_ip_, &c->local_port_);
  }
  c->peer_ip_ = ip;
  c->peer_port_ = port;
  return c;
}

Result<SipTestClient::Ptr> SipTestClient::connect_tcp(const std::string& ip, uint16_t port,
                                                      Millis timeout, const std::string& local_ip) {
  auto c = connect_socket(ip, port, local_ip, 0, Clock::now() + timeout);
  if (c.ok()) c.value()->io_timeout_ = timeout;
  return c;
}

Result<SipTestClient::Ptr> SipTestClient::connect_tls(const std::string& ip, uint16_t port,
                                                      const TlsClientOptions& options) {
  auto deadline = Clock::now() + options.timeout;
  auto c = connect_socket(ip, port, options.local_ip, options.receive_buffer, deadline);
  if (!c.ok()) return c;
  if (Status s = c.value()->handshake(options, deadline); !s) {
    return make_error(host_port(ip, port) + ": " + s.message());
  }
  c.value()->io_timeout_ = options.timeout;
  return c;
}

int SipTestClient::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<SipTestClient*>(SSL_get_app_data(ssl));
  if (self == nullptr) return 0;
  self->last_session_ = SslSessionPtr(session, SSL_SESSION_free);
  return 1;  // we keep the reference
}

Status SipTestClient::handshake(const TlsClientOptions& o, Clock::time_point deadline) {
  ERR_clear_error();
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_) return make_error("SSL_CTX_new: " + openssl_drain_errors());
  SSL_CTX* ctx = ctx_.get();
  if ((o.min_version != 0 && !SSL_CTX_set_min_proto_version(ctx, o.min_version)) ||
      (o.max_version != 0 && !SSL_CTX_set_max_proto_version(ctx, o.max_version))) {
    return make_error("bad TLS version range: " + openssl_drain_errors());
  }
  if (!o.cipher_list.empty() && !SSL_CTX_set_cipher_list(ctx, o.cipher_list.c_str())) {
    return make_error("cipher_list '" + o.cipher_list + "': " + openssl_drain_errors());
  }
  if (!o.ciphersuites.empty() && !SSL_CTX_set_ciphersuites(ctx, o.ciphersuites.c_str())) {
    return make_error("ciphersuites '" + o.ciphersuites + "': " + openssl_drain_errors());
  }
  if (!o.ca_file.empty()) {
    if (!SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr)) {
      return make_error("ca_file " + o.ca_file + ": " + openssl_drain_errors());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!o.cert_file.empty()) {
    const std::string& key = o.key_file.empty() ? o.cert_file : o.key_file;
    if (!SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str())) {
      return make_error("cert_file " + o.cert_file + ": " + openssl_drain_errors());
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM)) {
      return make_error("key_file " + key + ": " + openssl_drain_errors());
    }
    if (!SSL_CTX_check_private_key(ctx)) {
      return make_error("key_file " + key + " does not match cert_file " + o.cert_file + ": " +
                        openssl_drain_errors());
    }
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &SipTestClient::on_new_session);

  ssl_.reset(SSL_new(ctx));
  if (!ssl_) return make_error("SSL_new: " + openssl_drain_errors());
  SSL* ssl = ssl_.get();
  SSL_set_app_data(ssl, this);
  if (!SSL_set_fd(ssl, fd_)) return make_error("SSL_set_fd: " + openssl_drain_errors());
  if (!o.sni.empty() && !SSL_set_tlsext_host_name(ssl, o.sni.c_str())) {
    return make_error("SNI '" + o.sni + "': " + openssl_drain_errors());
  }
  if (!o.verify_name.empty()) {
    sockaddr_storage sa;
    socklen_t len;
    bool is_ip = parse_ip(o.verify_name, 0, &sa, &len);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o.verify_name.c_str())
                   : SSL_set1_host(ssl, o.verify_name.c_str());
    if (!ok) return make_error("verify_name '" + o.verify_name + "': " + openssl_drain_errors());
  }
  if (o.session && !SSL_set_session(ssl, o.session.get())) {
    return make_error("SSL_set_session: " + openssl_drain_errors());
  }

  SigpipeGuard no_sigpipe;
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) return Status::Ok();
    int err = SSL_get_error(ssl, r);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events != 0) {
      if (!wait_io(events, deadline)) {
        tls_failed_ = true;
        return make_error("TLS handshake: timed out");
      }
      continue;
    }
    tls_failed_ = true;
    std::string why = openssl_drain_errors();
    if (err == SSL_ERROR_SYSCALL && why.empty()) {
      why = errno != 0 ? strerror(errno) : "connection closed by peer";
    }
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) why += std::string(" (verify: ") + X509_verify_cert_error_string(v) + ")";
    return make_error("TLS handshake: " + why);
  }
}

bool SipTestClient::wait_io(short events, Clock::time_point deadline) const {
  for (;;) {
    pollfd p{fd_, events, 0};
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;  // ready, or an error/hangup the next call will report
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

void SipTestClient::mark_closed(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
}

SipTestClient::Io SipTestClient::fill(Clock::time_point deadline, bool keep) {
  if (closed_ || fd_ < 0) return Io::kClosed;
  if (keep && rx_.size() >= kMaxBuffered) return Io::kFull;
  char buf[kReadChunk];
  SigpipeGuard no_sigpipe;  // SSL_read may write (alerts, key updates)
  for (;;) {
    size_t want = keep ? std::min(sizeof buf, kMaxBuffered - rx_.size()) : sizeof buf;
    short events = POLLIN;
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_read(ssl_.get(), buf, static_cast<int>(want));
      if (n > 0) {
        if (keep) rx_.append(buf, static_cast<size_t>(n));
        return Io::kData;
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_ZERO_RETURN) {
        mark_closed("close_notify");
        return Io::kClosed;
      }
      if (err == SSL_ERROR_WANT_WRITE) {
        events = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        tls_failed_ = true;
        int saved_errno = errno;
        unsigned long e = ERR_peek_error();
        std::string why = openssl_drain_errors();
        if (err == SSL_ERROR_SYSCALL && why.empty()) {
          mark_closed(saved_errno == ECONNRESET ? "connection reset"
                      : saved_errno == 0        ? "EOF without close_notify"
                                                : std::string("error: ") + strerror(saved_errno));
        } else if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          mark_closed("EOF without close_notify");
        } else {
          mark_closed("TLS error: " + why);
        }
        return Io::kClosed;
      }
    } else {
      ssize_t n = ::recv(fd_, buf, want, 0);
      if (n > 0) {
        if (keep) rx_.append(buf, static_cast<size_t>(n));
        return Io::kData;
      }
      if (n == 0) {
        mark_closed("EOF");
        return Io::kClosed;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        mark_closed(errno == ECONNRESET ? "connection reset"
                                        : std::string("error: ") + strerror(errno));
        return Io::kClosed;
      }
    }
    if (!wait_io(events, deadline)) return Io::kTimeout;
  }
}

Status SipTestClient::write_all(std::string_view bytes, Clock::time_point deadline) {
  if (fd_ < 0) return make_error("send: connection is closed here");
  if (bytes.empty()) return Status::Ok();
  SigpipeGuard no_sigpipe;
  if (ssl_) {
    if (tls_failed_)
      return make_error("send: TLS connection failed earlier (" + close_reason_ + ")");
    for (;;) {  // one SSL_write, retried with the same arguments until done
      ERR_clear_error();
      int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) return Status::Ok();  // without partial writes, n == bytes.size()
      int err = SSL_get_error(ssl_.get(), n);
      short events = err == SSL_ERROR_WANT_READ    ? POLLIN
                     : err == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                   : 0;
      if (events == 0) {
        tls_failed_ = true;
        std::string why = openssl_drain_errors();
        if (why.empty()) why = errno != 0 ? strerror(errno) : "connection closed";
        return make_error("send: SSL_write: " + why);
      }
      if (!wait_io(events, deadline)) return make_error("send: timed out");
    }
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return make_error(std::string("send: ") + strerror(errno));
    }
    if (!wait_io(POLLOUT, deadline)) return make_error("send: timed out");
  }
  return Status::Ok();
}

Status SipTestClient::send(std::string_view bytes) {
  return write_all(bytes, Clock::now() + io_timeout_);
}

Status SipTestClient::send_in_records(const std::vector<std::string>& pieces, Millis gap) {
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(gap);
    if (Status s = send(pieces[i]); !s) {
      return make_error(strprintf("piece %zu of %zu: ", i + 1, pieces.size()) + s.message());
    }
  }
  return Status::Ok();
}

std::string SipTestClient::describe_buffer() const {
  return strprintf("%zu bytes buffered", rx_.size()) +
         (rx_.empty() ? std::string() : ": '" + preview(rx_) + "'");
}

Result<std::string> SipTestClient::read_message(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {  // bounded: each round consumes input or waits on the deadline
    Frame f = framer_.next(rx_);
    if (f.kind == FrameKind::kMessage) {
      std::string msg = rx_.substr(f.skip, f.length);
      rx_.erase(0, f.consumed());
      return msg;
    }
    if (f.kind == FrameKind::kError) {
      framer_.reset();
      return make_error(std::string("framing error: ") + frame_error_text(f.error) + "; " +
                        describe_buffer());
    }
    rx_.erase(0, f.skip);  // kNeedMore (kPing cannot happen: ping-pong is off)
    switch (fill(deadline)) {
      case Io::kData:
        continue;
      case Io::kTimeout:
        return make_error(strprintf("no complete SIP message within %lld ms; ",
                                    static_cast<long long>(timeout.count())) +
                          describe_buffer());
      case Io::kClosed:
        return make_error("connection closed (" + close_reason_ + ") before a complete SIP " +
                          "message; " + describe_buffer());
      case Io::kFull:
        return make_error("receive buffer full; " + describe_buffer());
    }
  }
}

Result<SipMessage> SipTestClient::read_reply(Millis timeout) {
  auto text = read_message(timeout);
  if (!text.ok()) return make_error(text.message());
  return SipMessage::parse(text.value());
}

Result<std::string> SipTestClient::read_bytes(size_t n, Millis timeout) {
  if (n > kMaxBuffered) return make_error("read_bytes: too many bytes requested");
  auto deadline = Clock::now() + timeout;
  while (rx_.size() < n) {
    Io r = fill(deadline);
    if (r == Io::kTimeout) {
      return make_error(strprintf("read_bytes(%zu): timed out; ", n) + describe_buffer());
    }
    if (r != Io::kData) {
      return make_error(
          strprintf("read_bytes(%zu): connection closed (%s); ", n, close_reason_.c_str()) +
          describe_buffer());
    }
  }
  framer_.reset();  // the framer's scan position no longer matches the buffer
  std::string out = rx_.substr(0, n);
  rx_.erase(0, n);
  return out;
}

bool SipTestClient::expect_nothing(Millis quiet) {
  if (!rx_.empty() || closed_) return false;
  return fill(Clock::now() + quiet) == Io::kTimeout;
}

bool SipTestClient::wait_closed(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {  // bounded by the deadline
    if (closed_) return true;
    Io r = fill(deadline, rx_.size() < kMaxBuffered);
    if (r == Io::kTimeout) return false;
  }
}

void SipTestClient::close() {
  if (fd_ < 0) return;
  if (ssl_ && !tls_failed_ && !closed_ && SSL_is_init_finished(ssl_.get())) {
    SigpipeGuard no_sigpipe;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // sends close_notify; non-blocking, does not wait for the peer's
    ERR_clear_error();
  }
  ::close(fd_);
  fd_ = -1;
  mark_closed("closed locally");
}

void SipTestClient::reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
  mark_closed("reset locally");
}

std::string SipTestClient::tls_version() const {
  return ssl_ ? SSL_get_version(ssl_.get()) : "";
}

std::string SipTestClient::cipher() const {
  if (!ssl_) return "";
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name ? name : "";
}

bool SipTestClient::session_reused() const {
  return ssl_ && SSL_session_reused(ssl_.get()) == 1;
}

SslSessionPtr SipTestClient::session(Millis wait) {
  if (!ssl_) return nullptr;
  auto resumable = [&] { return last_session_ && SSL_SESSION_is_resumable(last_session_.get()); };
  auto deadline = Clock::now() + wait;
  // TLS 1.3: the tickets come after the handshake; read in short slices until one is processed.
  while (!resumable() && !closed_ && Clock::now() < deadline) {
    if (fill(std::min(deadline, Clock::now() + milliseconds(20))) == Io::kFull) break;
  }
  if (resumable()) return last_session_;
  SSL_SESSION* s = SSL_get1_session(ssl_.get());
  if (s != nullptr && SSL_SESSION_is_resumable(s)) return SslSessionPtr(s, SSL_SESSION_free);
  if (s != nullptr) SSL_SESSION_free(s);
  return nullptr;
}

X509Ptr SipTestClient::peer_certificate() const {
  return X509Ptr(ssl_ ? SSL_get1_peer_certificate(ssl_.get()) : nullptr);
}

int SipTestClient::peer_key_type() const {
  X509Ptr cert = peer_certificate();
  return cert ? EVP_PKEY_base_id(X509_get0_pubkey(cert.get())) : 0;
}

std::string SipTestClient::peer_subject() const {
  X509Ptr cert = peer_certificate();
  if (!cert) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_ONELINE);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

long SipTestClient::verify_result() const {
  return ssl_ ? SSL_get_verify_result(ssl_.get()) : X509_V_OK;
}

SipHop SipTestClient::hop() const {
  SipHop h;
  h.transport = transport();
  h.local_ip = local_ip_;
  h.local_port = local_port_;
  h.peer_ip = peer_ip_;
  h.peer_port = peer_port_;
  return h;
}

SipRequest SipTestClient::make_options(const SipRequestSpec& spec) const {
  return build_sip_request(spec, hop());
}

}  // namespace sipsd::test
