#include "bench/sipsbench/options.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace sipsd::bench {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kThroughput:
      return "throughput";
    case Mode::kHandshake:
      return "handshake";
    case Mode::kIdle:
      return "idle";
    case Mode::kRamp:
      return "ramp";
    case Mode::kCall:
      return "call";
    case Mode::kStorm:
      return "storm";
    case Mode::kRegister:
      return "register";
  }
  return "?";
}

const char* transport_name(Transport t) {
  switch (t) {
    case Transport::kTls:
      return "tls";
    case Transport::kTcp:
      return "tcp";
    case Transport::kUdp:
      return "udp";
  }
  return "?";
}

const char* transport_via(Transport t) {
  switch (t) {
    case Transport::kTls:
      return "TLS";
    case Transport::kTcp:
      return "TCP";
    case Transport::kUdp:
      return "UDP";
  }
  return "?";
}

const char* callee_mode_name(CalleeMode m) {
  switch (m) {
    case CalleeMode::kListen:
      return "listen";
    case CalleeMode::kConnect:
      return "connect";
    case CalleeMode::kRegister:
      return "register";
  }
  return "?";
}

std::string Target::text() const {
  return strprintf("%s:%s:%u", transport_name(transport), ip.c_str(), port);
}

std::string usage() {
  return R"(usage: sipsbench MODE --target PROTO:IP:PORT [options]

SIP load generator for sipsd (or any SIP-over-TLS/TCP server) on this machine's loopback.

Modes:
  throughput            --conns persistent connections, --inflight requests outstanding on
                        each; reports req/s, replies by class, latency percentiles
  handshake             new connections as fast as possible, --conns at a time; each does the
                        TLS handshake, one OPTIONS, reads the reply and closes; reports
                        handshakes/s, failures and (with --resume) the resumption ratio
  idle                  opens --connections connections (--conns handshakes at a time), keeps
                        them alive with CRLFCRLF pings for --duration, then asks --check of them
                        for an OPTIONS; reports the server's memory (RSS, PSS) before and after,
                        per connection, and pongs received per ping sent
  ramp                  open-loop load over --conns connections: --rate-start req/s, raised by
                        --rate-step every --step-duration until --rate-max or until a step does
                        not keep up (achieved < 90% of offered, p99 > --p99-cap, any error);
                        latency percentiles per step, and the offered rate from which p99
                        stays over 1 ms (and 10 ms) for every later step: the start of the
                        last run of steps over it, none if the last step is not over it
  call                  SIP calls through a proxy (--target) between --conns caller
                        connections and --callees callee endpoints, both played by sipsbench:
                        INVITE -> (100) -> 180 -> 200 -> ACK, --hold, BYE -> 200, each call
                        routed by the Record-Route/Contact of its 200 (RFC 3261 12.2.1.1);
                        --concurrent calls in flight (closed loop) or --rate calls/s (open
                        loop); reports calls/s, failures by reason, setup and BYE latency
  storm                 --connections idle TLS phones holding session tickets drop and
                        reconnect at once; reports the time until all answer again (below)
  register              --users subscribers register with digest auth over --conns
                        connections: REGISTER -> 401 -> REGISTER with Authorization (MD5,
                        qop=auth) -> 200; a re-registration reuses the last nonce with the next
                        nc (--nonce-reuse); --concurrent in progress or --rate per second;
                        reports registrations/s, challenge share, latency from the first
                        REGISTER to the 200, failures by reason, server CPU per registration

Target and TLS:
  --target PROTO:IP:PORT   tls:127.0.0.1:5061 or tcp:127.0.0.1:5060 (127.0.0.0/8 only); call
                        and register modes also udp:127.0.0.1:5060, or IP:PORT with --transport
  --ca FILE             verify the server's certificate against these CAs (default: no check)
  --sni NAME            send this server name and verify the certificate against it
                        (default: no SNI; with --ca the certificate must match the target IP)
  --cert FILE --key FILE   present this client certificate (call mode: the certificate the
                        listening callees serve over TLS; required there)
  --tls-version V       1.2 or 1.3 only (default: negotiate 1.2..1.3)
  --resume              handshake mode: resume the session (TLS 1.3 ticket or TLS 1.2
                        session) saved from the previous connection of the same worker

Load:
  --conns C             connections (throughput, ramp) or attempts at a time (handshake, idle);
                        default 4 (idle: 64)
  --inflight W          throughput: requests outstanding per connection (default 1, max 4096);
                        ramp: at most this many outstanding per connection, a request due
                        beyond it is skipped and counted (default 1024)
  --method M            OPTIONS (default), MESSAGE or REGISTER
  --body-size N         MESSAGE body bytes (default 0)
  --workers N           client threads, each with its own event loop (default 1)

Idle mode:
  --connections N       connections to open and hold (default 1000; the descriptor limit is
                        raised to the hard limit, `ulimit -Hn`, and N must fit under it)
  --sources K           bind the connections to 127.0.0.2 .. 127.0.0.(K+1), in turn, so the
                        ephemeral ports of one address are not the limit (default: one address
                        per 20000 connections)
  --ping-interval SEC   CRLFCRLF keep-alive period of each connection, spread over the interval
                        (default 10)
  --check M             at the end, this many connections (spread over the set) must answer an
                        OPTIONS with a 200 (default 20; 0: no check)
  --first-source K      the first source address is 127.0.0.K (default 2), so several
                        sipsbench processes can use distinct addresses
  --register            each connection, once connected, registers one subscriber:
                        connection i is PREFIX(--first-user + i)@--domain (REGISTER -> 401 ->
                        REGISTER with Authorization -> 200, --expires); it counts as
                        established when the 200 arrives; reports registered and failed
  --user-prefix, --domain, --password, --expires, --first-user   with --register, as in
                        register mode
  --connect-limit SEC   the connect phase (handshakes, and registrations with --register) ends
                        after this long at the latest (default 120)
  The handshake phase ends after --connect-limit (120 s) at the latest; a failed attempt is counted and retried
  (3 attempts per connection). --duration is the hold time once the handshakes are done.

Storm mode (a network blip: every phone reconnects at once):
  Opens --connections TLS connections spread over --procs client processes (default one per
  10000; at most 19000 each) and --sources addresses (default one per process), each
  answering an OPTIONS and keeping its session (ticket). Then all of them drop (RST) at the
  same instant and reconnect offering their session, each sending an OPTIONS; reports the time
  until every one is answered, p50/p99 per connection (from the drop), the resumption share
  and (--server-pid) the server's CPU for the storm. Each process keeps --conns handshakes in
  progress (default 256): the clients' own crypto shares the machine with the server, and a
  client that started thousands at once would finish the handshakes the server answered after
  its handshake timeout. Each connection has 3 attempts of --timeout, the setup and the storm
  at most 120 s each; --duration does not apply.
  --procs P             client processes (default: one per 10000 connections)

Ramp mode:
  --rate-start R        req/s offered in the first step (default 1000)
  --rate-step S         FACTOR (multiply, e.g. 2, the default) or +N (add N req/s) per step
  --rate-max R          highest offered rate (default 1000000; at most 64 steps)
  --step-duration SEC   length of each step (default 5); after each step the outstanding
                        requests are awaited (at most --timeout) before the next one starts
  --p99-cap MS          a step whose p99 latency exceeds this did not keep up (default 100)
  --warmup SEC is an unreported step at --rate-start before the first; --duration does not apply.

Call mode:
  --transport T         tls, tcp or udp: of the callers, the callees and their URIs (default:
                        the --target's)
  --conns M             caller connections (UDP: sockets) to the proxy (default 4)
  --callees N           callee endpoints (default 4); calls go to them in turn
  --callee-mode MODE    listen (default): callee i listens on --callee-listen's address, port
                        + i, and the callers' R-URI is sip:callee-i@IP:PORT;transport=T, so the
                        proxy opens the connections; connect: callee i connects to the proxy
                        first and sends an OPTIONS (it must be answered 2xx), and the R-URI and
                        Contact are its connection's source address, so the proxy must reuse
                        that connection (a phone behind NAT); register: callee i connects to
                        the proxy and registers as subscriber PREFIX(--first-user + i)@--domain
                        with digest auth (REGISTER -> 401 -> REGISTER with Authorization ->
                        200), and the R-URI is that address of record, so the proxy must find
                        it with lookup("location") and reuse its connection
  --callee-listen IP:PORT  listen mode: the first callee's address (default 127.0.0.1:0: each
                        callee gets a port from the kernel)
  --concurrent K        closed loop: K calls in flight, a new one as soon as one ends (default
                        16); with --rate: at most K in flight, a call due beyond it is skipped
                        and counted (default 10000)
  --rate R              open loop: R calls/s started on schedule, answered or not
  --hold MS             between the ACK and the BYE (default 0)
  --caller-auth         every INVITE goes out without credentials; the 401/407 challenge is
                        ACKed and the INVITE sent again (CSeq 2, new branch) with
                        (Proxy-)Authorization (MD5, qop=auth) as caller connection k's
                        subscriber PREFIX(--first-user + --callees + k)@--domain (its From);
                        each call is challenged, and setup latency includes the challenge
  --user-prefix, --domain, --password, --expires, --first-user   the subscribers of
                        --caller-auth and --callee-mode register (as in register mode)
  --t1 MS               UDP: INVITE and BYE are retransmitted after T1, 2T1, 4T1, ... (BYE
                        capped at T2 = 8 T1) until a response; a callee retransmits its 200
                        until the ACK (default 500)
Register mode (also --transport, --concurrent (default 16), --rate, --t1 as for call mode):
  --users N             subscribers PREFIX0 .. PREFIX(N-1) (default 100)
  --user-prefix P       (default alice)
  --domain D            AOR domain and request URI sip:D (default example.com)
  --password PATTERN    every subscriber's password, {i} replaced by its index (default pw{i})
  --expires SEC         Expires of every REGISTER (default 3600)
  --nonce-reuse yes|no  a re-registration sends the last nonce with nc+1 first (default yes);
                        no: every registration starts without credentials
  --timeout SEC is the limit for each REGISTER transaction.

  --timeout SEC is the limit for each transaction (INVITE to its final response, BYE to its
  final response); a call is counted in the period in which its INVITE was first sent, and the
  calls still in progress at the end get at most --hold + 2 x --timeout to finish.

Time (seconds, fractions allowed):
  --duration SEC        measured period (default 10; idle: hold time)
  --warmup SEC          load before the measured period, not counted in rates (default 2)
  --timeout SEC         a request (throughput, ramp), connection (handshake) or handshake, pong
                        or check reply (idle) without its answer after this long is a timeout
                        (default 5)

Reporting:
  --server-pid PID      CPU seconds of PID and all its descendants over the measured period,
                        and the rate per server-CPU-second; idle: also their memory (VmRSS and
                        PSS from /proc)
  --json FILE           write every figure as JSON
  --quiet               no progress lines (they are printed only when stdout is a terminal)
  -h, --help            this text

Exit status: 0 when at least one request (throughput, ramp), connection (handshake, idle) or
call (call) succeeded in the measured period, 1 when none did, 2 on a usage or setup error.
)";
}

namespace {

enum OptId {
  kOptTarget = 1000,
  kOptCa,
  kOptSni,
  kOptCert,
  kOptKey,
  kOptTlsVersion,
  kOptResume,
  kOptConns,
  kOptInflight,
  kOptMethod,
  kOptBodySize,
  kOptWorkers,
  kOptDuration,
  kOptWarmup,
  kOptTimeout,
  kOptServerPid,
  kOptJson,
  kOptQuiet,
  kOptMode,
  kOptConnections,
  kOptSources,
  kOptPingInterval,
  kOptCheck,
  kOptRateStart,
  kOptRateStep,
  kOptRateMax,
  kOptStepDuration,
  kOptP99Cap,
  kOptTransport,
  kOptCallees,
  kOptCalleeMode,
  kOptCalleeListen,
  kOptConcurrent,
  kOptRate,
  kOptHold,
  kOptT1,
  kOptProcs,
  kOptUsers,
  kOptUserPrefix,
  kOptDomain,
  kOptPassword,
  kOptExpires,
  kOptNonceReuse,
  kOptCallerAuth,
  kOptFirstUser,
  kOptFirstSource,
  kOptRegister,
  kOptConnectLimit,
};

const struct option kLongOptions[] = {
    {"target", required_argument, nullptr, kOptTarget},
    {"ca", required_argument, nullptr, kOptCa},
    {"sni", required_argument, nullptr, kOptSni},
    {"cert", required_argument, nullptr, kOptCert},
    {"key", required_argument, nullptr, kOptKey},
    {"tls-version", required_argument, nullptr, kOptTlsVersion},
    {"resume", no_argument, nullptr, kOptResume},
    {"conns", required_argument, nullptr, kOptConns},
    {"inflight", required_argument, nullptr, kOptInflight},
    {"method", required_argument, nullptr, kOptMethod},
    {"body-size", required_argument, nullptr, kOptBodySize},
    {"workers", required_argument, nullptr, kOptWorkers},
    {"duration", required_argument, nullptr, kOptDuration},
    {"warmup", required_argument, nullptr, kOptWarmup},
    {"timeout", required_argument, nullptr, kOptTimeout},
    {"server-pid", required_argument, nullptr, kOptServerPid},
    {"json", required_argument, nullptr, kOptJson},
    {"quiet", no_argument, nullptr, kOptQuiet},
    {"mode", required_argument, nullptr, kOptMode},
    {"connections", required_argument, nullptr, kOptConnections},
    {"sources", required_argument, nullptr, kOptSources},
    {"ping-interval", required_argument, nullptr, kOptPingInterval},
    {"check", required_argument, nullptr, kOptCheck},
    {"rate-start", required_argument, nullptr, kOptRateStart},
    {"rate-step", required_argument, nullptr, kOptRateStep},
    {"rate-max", required_argument, nullptr, kOptRateMax},
    {"step-duration", required_argument, nullptr, kOptStepDuration},
    {"p99-cap", required_argument, nullptr, kOptP99Cap},
    {"transport", required_argument, nullptr, kOptTransport},
    {"callees", required_argument, nullptr, kOptCallees},
    {"callee-mode", required_argument, nullptr, kOptCalleeMode},
    {"callee-listen", required_argument, nullptr, kOptCalleeListen},
    {"concurrent", required_argument, nullptr, kOptConcurrent},
    {"rate", required_argument, nullptr, kOptRate},
    {"hold", required_argument, nullptr, kOptHold},
    {"t1", required_argument, nullptr, kOptT1},
    {"procs", required_argument, nullptr, kOptProcs},
    {"users", required_argument, nullptr, kOptUsers},
    {"user-prefix", required_argument, nullptr, kOptUserPrefix},
    {"domain", required_argument, nullptr, kOptDomain},
    {"password", required_argument, nullptr, kOptPassword},
    {"expires", required_argument, nullptr, kOptExpires},
    {"nonce-reuse", required_argument, nullptr, kOptNonceReuse},
    {"caller-auth", no_argument, nullptr, kOptCallerAuth},
    {"first-user", required_argument, nullptr, kOptFirstUser},
    {"first-source", required_argument, nullptr, kOptFirstSource},
    {"register", no_argument, nullptr, kOptRegister},
    {"connect-limit", required_argument, nullptr, kOptConnectLimit},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

Status parse_int(const char* name, const char* text, long lo, long hi, long* out) {
  errno = 0;
  char* end = nullptr;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
    return make_error(
        strprintf("--%s '%s': expected an integer in [%ld, %ld]", name, text, lo, hi));
  *out = v;
  return Status::Ok();
}

Status parse_seconds(const char* name, const char* text, double lo, double hi, double* out) {
  errno = 0;
  char* end = nullptr;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
    return make_error(strprintf("--%s '%s': expected seconds in [%g, %g]", name, text, lo, hi));
  *out = v;
  return Status::Ok();
}

Status parse_number(const char* name, const char* text, double lo, double hi, double* out) {
  errno = 0;
  char* end = nullptr;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
    return make_error(strprintf("--%s '%s': expected a number in [%g, %g]", name, text, lo, hi));
  *out = v;
  return Status::Ok();
}

// --rate-step: "2" multiplies the rate by 2 each step, "+500" adds 500 req/s.
Status parse_rate_step(const char* text, Options* o) {
  if (text[0] == '+') {
    o->rate_factor = 1;
    return parse_number("rate-step", text + 1, 1, kMaxRate, &o->rate_add);
  }
  o->rate_add = 0;
  return parse_number("rate-step", text, 1.01, 100, &o->rate_factor);
}

Status parse_mode(std::string_view text, Mode* out) {
  for (Mode m : {Mode::kThroughput, Mode::kHandshake, Mode::kIdle, Mode::kRamp, Mode::kCall,
                 Mode::kStorm, Mode::kRegister}) {
    if (text == mode_name(m)) {
      *out = m;
      return Status::Ok();
    }
  }
  return make_error("unknown mode '" + std::string(text) +
                    "' (throughput, handshake, idle, ramp, call, storm or register)");
}

Status parse_transport(std::string_view text, Transport* out) {
  for (Transport t : {Transport::kTls, Transport::kTcp, Transport::kUdp}) {
    if (text == transport_name(t)) {
      *out = t;
      return Status::Ok();
    }
  }
  return make_error("--transport '" + std::string(text) + "': expected tls, tcp or udp");
}

// "IP:PORT" on loopback; port 0 allowed (the kernel picks).
Status parse_loopback_addr(const char* opt, std::string_view text, std::string* ip,
                           uint16_t* port) {
  size_t colon = text.rfind(':');
  auto bad = [&](const char* why) {
    return make_error(strprintf("--%s '%.*s': %s (expected IP:PORT on 127.0.0.0/8)", opt,
                                static_cast<int>(text.size()), text.data(), why));
  };
  if (colon == std::string_view::npos) return bad("no port");
  std::string host(text.substr(0, colon));
  std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  long p = strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || p < 0 || p > 65535) return bad("bad port");
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) return bad("not an IPv4 address");
  if ((ntohl(a.s_addr) >> 24) != 127) return bad("not a loopback address");
  *ip = host;
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

// `fallback`: the transport of a target given as IP:PORT (call mode's --transport); null:
// PROTO:IP:PORT is required.
Status parse_target(std::string_view text, const Transport* fallback, Target* t) {
  auto bad = [&](const char* why) {
    return make_error("--target '" + std::string(text) + "': " + why +
                      " (expected tls:127.0.0.1:5061 or tcp:127.0.0.1:5060)");
  };
  size_t c1 = text.find(':');
  size_t c2 = text.rfind(':');
  if (c1 == std::string_view::npos) return bad("not PROTO:IP:PORT");
  if (c1 == c2) {
    if (fallback == nullptr) return bad("not PROTO:IP:PORT");
    t->transport = *fallback;
    c1 = std::string_view::npos;  // the address starts at 0
  } else {
    std::string_view proto = text.substr(0, c1);
    if (proto == "tls") {
      t->transport = Transport::kTls;
    } else if (proto == "tcp") {
      t->transport = Transport::kTcp;
    } else if (proto == "udp") {
      t->transport = Transport::kUdp;
    } else {
      return bad("the protocol must be tls, tcp or udp");
    }
  }
  size_t ip_from = c1 == std::string_view::npos ? 0 : c1 + 1;
  t->ip = std::string(text.substr(ip_from, c2 - ip_from));
  std::string port(text.substr(c2 + 1));
  char* end = nullptr;
  long port_num = strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || port_num < 1 || port_num > 65535) return bad("bad port");
  t->port = static_cast<uint16_t>(port_num);
  t->addr = sockaddr_in{};
  t->addr.sin_family = AF_INET;
  t->addr.sin_port = htons(t->port);
  if (inet_pton(AF_INET, t->ip.c_str(), &t->addr.sin_addr) != 1)
    return bad("the address must be an IPv4 address");
  if ((ntohl(t->addr.sin_addr.s_addr) >> 24) != 127)
    return bad("only loopback targets (127.0.0.0/8) are allowed");
  return Status::Ok();
}

// Call mode's checks and defaults, once everything is parsed.
Result<Options> finish_call_options(Options& o, bool have_inflight, bool have_concurrent) {
  CallOptions& c = o.call;
  bool tls = o.target.transport == Transport::kTls;
  bool listen = c.callee_mode == CalleeMode::kListen;
  if (have_inflight) return make_error("--inflight does not apply to call mode (see --concurrent)");
  if (o.method != "OPTIONS" || o.body_size != 0)
    return make_error("--method and --body-size do not apply to call mode");
  if (o.resume) return make_error("--resume applies to handshake mode only");
  if (!tls && (!o.ca_file.empty() || !o.sni.empty() || !o.cert_file.empty() ||
               !o.key_file.empty() || o.tls_version != 0))
    return make_error(
        "TLS options (--ca, --sni, --cert, --key, --tls-version) need --transport tls");
  if (o.cert_file.empty() != o.key_file.empty()) return make_error("--cert and --key go together");
  if (tls && listen && o.cert_file.empty())
    return make_error(
        "--callee-mode listen over TLS: --cert and --key (the callees' server certificate) are "
        "required");
  if (tls && !listen && !o.cert_file.empty())
    return make_error(
        "--cert/--key are the listening callees' certificate: not with connect or register mode");
  if (!have_concurrent) c.concurrent = c.rate > 0 ? kCallDefaultCap : kCallDefaultConcurrent;
  if (c.listen_port != 0 && static_cast<int>(c.listen_port) + c.callees - 1 > 65535)
    return make_error("--callee-listen port + --callees goes past 65535");
  if (o.workers > o.conns)
    return make_error(
        strprintf("--workers %d is more than --conns %d: every worker needs at "
                  "least one caller connection",
                  o.workers, o.conns));
  if (c.rate == 0 && c.concurrent < o.workers)
    return make_error(
        strprintf("--concurrent %d is less than --workers %d", c.concurrent, o.workers));
  return o;
}

// Register mode's checks and defaults, once everything is parsed.
Result<Options> finish_register_options(Options& o, bool have_inflight, bool have_conns,
                                        bool have_concurrent) {
  bool tls = o.target.transport == Transport::kTls;
  if (have_inflight)
    return make_error("--inflight does not apply to register mode (see --concurrent)");
  if (o.method != "OPTIONS" || o.body_size != 0)
    return make_error("--method and --body-size do not apply to register mode");
  if (o.resume) return make_error("--resume applies to handshake mode only");
  if (!tls && (!o.ca_file.empty() || !o.sni.empty() || !o.cert_file.empty() ||
               !o.key_file.empty() || o.tls_version != 0))
    return make_error(
        "TLS options (--ca, --sni, --cert, --key, --tls-version) need --transport tls");
  if (o.cert_file.empty() != o.key_file.empty()) return make_error("--cert and --key go together");
  if (!have_concurrent)
    o.call.concurrent = o.call.rate > 0 ? kCallDefaultCap : kCallDefaultConcurrent;
  if (!have_conns && o.conns < o.workers) o.conns = o.workers;
  if (o.workers > o.conns)
    return make_error(strprintf(
        "--workers %d is more than --conns %d: every worker needs at least one connection",
        o.workers, o.conns));
  if (o.workers > o.reg.users)
    return make_error(strprintf("--workers %d is more than --users %d", o.workers, o.reg.users));
  if (o.call.rate == 0 && o.call.concurrent < o.workers)
    return make_error(
        strprintf("--concurrent %d is less than --workers %d", o.call.concurrent, o.workers));
  return o;
}

}  // namespace

Result<Options> parse_options(int argc, char** argv, bool* help) {
  Options o;
  *help = false;
  bool have_mode = false;
  bool have_target = false;
  bool have_conns = false;
  bool have_inflight = false;
  bool have_duration = false;
  bool have_check = false;
  std::vector<const char*> idle_only;   // options given that only idle mode takes
  std::vector<const char*> storm_only;  // options given that only storm mode takes
  std::vector<const char*> ramp_only;
  std::vector<const char*> call_only;
  std::vector<const char*> shared_only;  // call and register modes
  std::vector<const char*> register_only;
  std::vector<const char*> subscriber_only;  // register mode, call mode with subscribers, idle
                                             // mode with --register
  std::string target_text;
  bool have_transport = false;
  Transport transport = Transport::kTls;
  bool have_concurrent = false;
  optind = 1;
  opterr = 0;
  // A leading non-option argument is the mode.
  if (argc > 1 && argv[1][0] != '-') {
    Status s = parse_mode(argv[1], &o.mode);
    if (!s.ok()) return make_error(s.message());
    have_mode = true;
    optind = 2;
  }
  int c;
  long n = 0;
  while ((c = getopt_long(argc, argv, ":h", kLongOptions, nullptr)) != -1) {
    Status s;
    switch (c) {
      case 'h':
        *help = true;
        return o;
      case kOptMode:
        s = parse_mode(optarg, &o.mode);
        have_mode = s.ok();
        break;
      case kOptTarget:
        target_text = optarg;  // parsed at the end: --transport may come later
        have_target = true;
        break;
      case kOptCa:
        o.ca_file = optarg;
        break;
      case kOptSni:
        o.sni = optarg;
        break;
      case kOptCert:
        o.cert_file = optarg;
        break;
      case kOptKey:
        o.key_file = optarg;
        break;
      case kOptTlsVersion:
        if (std::string_view(optarg) == "1.2") {
          o.tls_version = TLS1_2_VERSION;
        } else if (std::string_view(optarg) == "1.3") {
          o.tls_version = TLS1_3_VERSION;
        } else {
          s = make_error(strprintf("--tls-version '%s': expected 1.2 or 1.3", optarg));
        }
        break;
      case kOptResume:
        o.resume = true;
        break;
      case kOptConns:
        s = parse_int("conns", optarg, 1, kMaxConns, &n);
        o.conns = static_cast<int>(n);
        have_conns = true;
        break;
      case kOptInflight:
        s = parse_int("inflight", optarg, 1, kMaxInflight, &n);
        o.inflight = static_cast<int>(n);
        have_inflight = true;
        break;
      case kOptMethod:
        o.method = optarg;
        if (o.method != "OPTIONS" && o.method != "MESSAGE" && o.method != "REGISTER")
          s = make_error("--method '" + o.method + "': expected OPTIONS, MESSAGE or REGISTER");
        break;
      case kOptBodySize:
        s = parse_int("body-size", optarg, 0, kMaxBodySize, &n);
        o.body_size = static_cast<int>(n);
        break;
      case kOptWorkers:
        s = parse_int("workers", optarg, 1, kMaxWorkers, &n);
        o.workers = static_cast<int>(n);
        break;
      case kOptDuration:
        s = parse_seconds("duration", optarg, 0.1, kMaxDuration, &o.duration);
        have_duration = true;
        break;
      case kOptWarmup:
        s = parse_seconds("warmup", optarg, 0, kMaxDuration, &o.warmup);
        break;
      case kOptTimeout:
        s = parse_seconds("timeout", optarg, 0.01, kMaxTimeout, &o.timeout);
        break;
      case kOptServerPid:
        s = parse_int("server-pid", optarg, 1, INT32_MAX, &n);
        o.server_pid = static_cast<pid_t>(n);
        break;
      case kOptJson:
        o.json_file = optarg;
        break;
      case kOptQuiet:
        o.quiet = true;
        break;
      case kOptConnections:
        s = parse_int("connections", optarg, 1, kMaxConns, &n);
        o.connections = static_cast<int>(n);
        idle_only.push_back("--connections");
        break;
      case kOptSources:
        s = parse_int("sources", optarg, 1, kMaxSources, &n);
        o.sources = static_cast<int>(n);
        idle_only.push_back("--sources");
        break;
      case kOptProcs:
        s = parse_int("procs", optarg, 1, kMaxStormProcs, &n);
        o.procs = static_cast<int>(n);
        storm_only.push_back("--procs");
        break;
      case kOptPingInterval:
        s = parse_seconds("ping-interval", optarg, 0.1, kMaxDuration, &o.ping_interval);
        idle_only.push_back("--ping-interval");
        break;
      case kOptCheck:
        s = parse_int("check", optarg, 0, kMaxConns, &n);
        o.check = static_cast<int>(n);
        have_check = true;
        idle_only.push_back("--check");
        break;
      case kOptRateStart:
        s = parse_number("rate-start", optarg, 1, kMaxRate, &o.rate_start);
        ramp_only.push_back("--rate-start");
        break;
      case kOptRateStep:
        s = parse_rate_step(optarg, &o);
        ramp_only.push_back("--rate-step");
        break;
      case kOptRateMax:
        s = parse_number("rate-max", optarg, 1, kMaxRate, &o.rate_max);
        ramp_only.push_back("--rate-max");
        break;
      case kOptStepDuration:
        s = parse_seconds("step-duration", optarg, 0.1, kMaxDuration, &o.step_duration);
        ramp_only.push_back("--step-duration");
        break;
      case kOptP99Cap:
        s = parse_number("p99-cap", optarg, 0.001, 60000, &o.p99_cap_ms);
        ramp_only.push_back("--p99-cap");
        break;
      case kOptTransport:
        s = parse_transport(optarg, &transport);
        have_transport = true;
        shared_only.push_back("--transport");
        break;
      case kOptCallees:
        s = parse_int("callees", optarg, 1, kMaxCallees, &n);
        o.call.callees = static_cast<int>(n);
        call_only.push_back("--callees");
        break;
      case kOptCalleeMode:
        if (std::string_view(optarg) == "listen") {
          o.call.callee_mode = CalleeMode::kListen;
        } else if (std::string_view(optarg) == "connect") {
          o.call.callee_mode = CalleeMode::kConnect;
        } else if (std::string_view(optarg) == "register") {
          o.call.callee_mode = CalleeMode::kRegister;
        } else {
          s = make_error(
              strprintf("--callee-mode '%s': expected listen, connect or register", optarg));
        }
        call_only.push_back("--callee-mode");
        break;
      case kOptCalleeListen:
        s = parse_loopback_addr("callee-listen", optarg, &o.call.listen_ip, &o.call.listen_port);
        call_only.push_back("--callee-listen");
        break;
      case kOptConcurrent:
        s = parse_int("concurrent", optarg, 1, kMaxCallsInFlight, &n);
        o.call.concurrent = static_cast<int>(n);
        have_concurrent = true;
        shared_only.push_back("--concurrent");
        break;
      case kOptRate:
        s = parse_number("rate", optarg, 0.1, kMaxRate, &o.call.rate);
        shared_only.push_back("--rate");
        break;
      case kOptHold:
        s = parse_number("hold", optarg, 0, kMaxHoldMs, &o.call.hold_ms);
        call_only.push_back("--hold");
        break;
      case kOptT1:
        s = parse_number("t1", optarg, 1, 10000, &o.call.t1_ms);
        shared_only.push_back("--t1");
        break;
      case kOptUsers:
        s = parse_int("users", optarg, 1, kMaxUsers, &n);
        o.reg.users = static_cast<int>(n);
        register_only.push_back("--users");
        break;
      case kOptUserPrefix:
        o.reg.user_prefix = optarg;
        subscriber_only.push_back("--user-prefix");
        break;
      case kOptDomain:
        o.reg.domain = optarg;
        if (o.reg.domain.empty() || o.reg.domain.find_first_of(" \t\r\n<>\"") != std::string::npos)
          s = make_error(strprintf("--domain '%s': expected a host name", optarg));
        subscriber_only.push_back("--domain");
        break;
      case kOptPassword:
        o.reg.password = optarg;
        subscriber_only.push_back("--password");
        break;
      case kOptExpires:
        s = parse_int("expires", optarg, 0, 1000000, &n);
        o.reg.expires = static_cast<int>(n);
        subscriber_only.push_back("--expires");
        break;
      case kOptNonceReuse:
        if (std::string_view(optarg) == "yes") {
          o.reg.nonce_reuse = true;
        } else if (std::string_view(optarg) == "no") {
          o.reg.nonce_reuse = false;
        } else {
          s = make_error(strprintf("--nonce-reuse '%s': expected yes or no", optarg));
        }
        register_only.push_back("--nonce-reuse");
        break;
      case kOptCallerAuth:
        o.call.caller_auth = true;
        call_only.push_back("--caller-auth");
        break;
      case kOptFirstUser:
        s = parse_int("first-user", optarg, 0, kMaxUsers, &n);
        o.reg.first_user = static_cast<int>(n);
        subscriber_only.push_back("--first-user");
        break;
      case kOptFirstSource:
        s = parse_int("first-source", optarg, 2, 254, &n);
        o.first_source = static_cast<int>(n);
        idle_only.push_back("--first-source");
        break;
      case kOptRegister:
        o.idle_register = true;
        idle_only.push_back("--register");
        break;
      case kOptConnectLimit:
        s = parse_seconds("connect-limit", optarg, 1, kMaxDuration, &o.connect_limit);
        idle_only.push_back("--connect-limit");
        break;
      case ':':
        return make_error(strprintf("%s: missing argument", argv[optind - 1]));
      default:
        return make_error(strprintf("unknown option '%s' (see --help)", argv[optind - 1]));
    }
    if (!s.ok()) return make_error(s.message());
  }
  if (optind < argc) return make_error(strprintf("unexpected argument '%s'", argv[optind]));
  if (!have_mode)
    return make_error(
        "no mode given (throughput, handshake, idle, ramp, call, storm or register; see --help)");
  if (!have_target) return make_error("--target is required (e.g. tls:127.0.0.1:5061)");
  if (o.mode != Mode::kCall && !call_only.empty())
    return make_error(strprintf("%s applies to call mode only", call_only.front()));
  if (o.mode != Mode::kCall && o.mode != Mode::kRegister && !shared_only.empty())
    return make_error(strprintf("%s applies to call and register modes only", shared_only.front()));
  if (o.mode != Mode::kRegister && !register_only.empty())
    return make_error(strprintf("%s applies to register mode only", register_only.front()));
  bool subscribers = o.mode == Mode::kRegister || (o.mode == Mode::kIdle && o.idle_register) ||
                     (o.mode == Mode::kCall &&
                      (o.call.caller_auth || o.call.callee_mode == CalleeMode::kRegister));
  if (!subscribers && !subscriber_only.empty())
    return make_error(strprintf(
        "%s applies to register mode, call mode with --caller-auth or --callee-mode register, and "
        "idle mode with --register only",
        subscriber_only.front()));
  if (o.mode == Mode::kStorm && (o.idle_register || o.first_source != 2 || o.connect_limit != 120))
    return make_error("--register, --first-source and --connect-limit apply to idle mode only");
  {
    Status s = parse_target(target_text, have_transport ? &transport : nullptr, &o.target);
    if (!s.ok()) return make_error(s.message());
  }
  if (have_transport && o.target.transport != transport)
    return make_error(strprintf("--transport %s contradicts --target %s", transport_name(transport),
                                o.target.text().c_str()));
  if (o.mode == Mode::kCall) return finish_call_options(o, have_inflight, have_concurrent);
  if (o.mode == Mode::kRegister)
    return finish_register_options(o, have_inflight, have_conns, have_concurrent);
  if (o.target.transport == Transport::kUdp)
    return make_error("udp: targets are for call mode only");

  bool tls = o.target.transport == Transport::kTls;
  if (!tls && (!o.ca_file.empty() || !o.sni.empty() || !o.cert_file.empty() ||
               !o.key_file.empty() || o.tls_version != 0 || o.resume))
    return make_error(
        "TLS options (--ca, --sni, --cert, --key, --tls-version, --resume) need a "
        "tls: target");
  if (o.cert_file.empty() != o.key_file.empty()) return make_error("--cert and --key go together");
  if (o.resume && o.mode != Mode::kHandshake)
    return make_error("--resume applies to handshake mode only");
  if (o.mode == Mode::kHandshake && o.inflight != 1)
    return make_error("--inflight applies to throughput and ramp modes only");
  const bool idle_like = o.mode == Mode::kIdle || o.mode == Mode::kStorm;
  if (idle_like && have_inflight)
    return make_error("--inflight applies to throughput and ramp modes only");
  if (!idle_like && !idle_only.empty())
    return make_error(strprintf("%s applies to idle mode only", idle_only.front()));
  if (o.mode != Mode::kStorm && !storm_only.empty())
    return make_error(strprintf("%s applies to storm mode only", storm_only.front()));
  if (o.mode == Mode::kStorm) {
    if (!tls) return make_error("storm mode needs a tls: target (it resumes sessions)");
    if (o.method != "OPTIONS") return make_error("--method does not apply to storm mode");
    if (o.procs == 0) o.procs = (o.connections + kStormConnsPerProc - 1) / kStormConnsPerProc;
    if (o.procs > o.connections)
      return make_error(
          strprintf("--procs %d is more than --connections %d", o.procs, o.connections));
    if ((o.connections + o.procs - 1) / o.procs > kStormMaxConnsPerProc)
      return make_error(strprintf("at most %d connections per client process: raise --procs",
                                  kStormMaxConnsPerProc));
    if (o.sources == 0) {
      o.sources =
          std::max(o.procs, (o.connections + kConnectionsPerSource - 1) / kConnectionsPerSource);
      o.sources = std::min(o.sources, kMaxSources);
    }
  }
  if (o.mode != Mode::kRamp && !ramp_only.empty())
    return make_error(strprintf("%s applies to ramp mode only", ramp_only.front()));
  if (o.mode == Mode::kIdle && o.method != "OPTIONS")
    return make_error("--method does not apply to idle mode (its check is an OPTIONS)");
  if (idle_like) {
    if (!have_conns)
      o.conns =
          std::min(o.mode == Mode::kStorm ? kStormDefaultConns : kIdleDefaultConns, o.connections);
    if (o.workers != 1)
      return make_error("idle and storm modes run one event loop: --workers must be 1");
    if (o.conns > o.connections)
      return make_error(strprintf("--conns %d (handshakes at a time) is more than --connections %d",
                                  o.conns, o.connections));
    if (!have_check) o.check = std::min(o.check, o.connections);
    if (o.check > o.connections)
      return make_error(
          strprintf("--check %d is more than --connections %d", o.check, o.connections));
    if (o.sources == 0)
      o.sources = (o.connections + kConnectionsPerSource - 1) / kConnectionsPerSource;
    if (o.sources > kMaxSources) return make_error("too many connections for the source addresses");
    if (o.first_source + o.sources - 1 > 254)
      return make_error(strprintf("--first-source %d + --sources %d goes past 127.0.0.254",
                                  o.first_source, o.sources));
  }
  if (o.mode == Mode::kRamp) {
    if (have_duration)
      return make_error("--duration does not apply to ramp mode (see --step-duration)");
    if (!have_inflight) o.inflight = kRampDefaultInflight;
    if (o.rate_max < o.rate_start)
      return make_error(
          strprintf("--rate-max %g is below --rate-start %g", o.rate_max, o.rate_start));
    if (ramp_rates(o).size() > static_cast<size_t>(kMaxSteps))
      return make_error(
          strprintf("--rate-start %g to --rate-max %g by --rate-step: more than %d "
                    "steps",
                    o.rate_start, o.rate_max, kMaxSteps));
  }
  if (o.body_size > 0 && o.method != "MESSAGE")
    return make_error("--body-size needs --method MESSAGE");
  // Bound what a run may hold in memory: in-flight slots overall, queued bytes per connection.
  if (static_cast<int64_t>(o.conns) * o.inflight > kMaxOutstanding)
    return make_error(strprintf("--conns x --inflight = %lld: at most %d requests in flight",
                                static_cast<long long>(o.conns) * o.inflight, kMaxOutstanding));
  if (static_cast<int64_t>(o.inflight) * (o.body_size + 1024) > kMaxInflightBytes)
    return make_error(
        strprintf("--inflight x --body-size: at most %d MiB in flight per "
                  "connection",
                  kMaxInflightBytes >> 20));
  if (!have_conns && o.conns < o.workers) o.conns = o.workers;
  if (o.workers > o.conns)
    return make_error(
        strprintf("--workers %d is more than --conns %d: every worker needs at "
                  "least one connection",
                  o.workers, o.conns));
  return o;
}

std::vector<double> ramp_rates(const Options& o) {
  std::vector<double> rates;
  double r = o.rate_start;
  // One more than allowed tells the caller the plan is too long.
  while (rates.size() <= static_cast<size_t>(kMaxSteps)) {
    rates.push_back(std::min(r, o.rate_max));
    if (r >= o.rate_max) break;
    r = o.rate_add > 0 ? r + o.rate_add : r * o.rate_factor;
  }
  return rates;
}

}  // namespace sipsd::bench
