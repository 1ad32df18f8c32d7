#include "tests/integration/baresip_phone.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace sipsd::test {
namespace {

using Clock = std::chrono::steady_clock;

// Where Debian's baresip-core puts its modules.
constexpr const char* kModulePath = "/usr/lib/baresip/modules";
// baresip's trace (-s) starts every message with this marker, then "TLS a -> b\n", then the
// message, then the colour reset.
constexpr std::string_view kTraceStart = "\x1b[36;1m#\n";
constexpr std::string_view kTraceEnd = "\x1b[;m";

bool executable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

// The config file of one phone: loopback only, no audio hardware (a sine source, the aubridge
// player, opus at 48 kHz, which is the only rate ausine produces), no console UI, the menu
// commands and ctrl_tcp for the test.
std::string config_text(const BaresipOptions& o, uint16_t ctrl_port) {
  std::ostringstream c;
  c << "poll_method\tepoll\n"
    << "sip_listen\t" << o.local_ip << ":0\n"
    << "net_interface\t" << o.local_ip << "\n";
  if (!o.ca_file.empty()) c << "sip_cafile\t" << o.ca_file << "\n";
  c << "call_local_timeout\t20\n"
    << "call_max_calls\t4\n"
    << "audio_source\tausine,440\n"
    << "audio_player\taubridge,nil\n"
    << "audio_alert\taubridge,nil\n"
    << "ringback_disabled\tyes\n"
    << "module_path\t" << kModulePath << "\n"
    << "module\topus.so\n"
    << "module\tausine.so\n"
    << "module\taubridge.so\n"
    << "module_tmp\taccount.so\n"
    << "module_app\tmenu.so\n"
    << "module_app\tctrl_tcp.so\n"
    << "ctrl_tcp_listen\t" << o.local_ip << ":" << ctrl_port << "\n";
  return c.str();
}

}  // namespace

std::string baresip_binary() {
  if (const char* path = getenv("PATH")) {
    std::istringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string candidate = dir + "/baresip";
      if (executable(candidate)) return candidate;
    }
  }
  return executable("/usr/bin/baresip") ? "/usr/bin/baresip" : "";
}

std::string baresip_account(const BaresipAccount& a) {
  return "<sip:" + a.user + "@" + a.domain + ";transport=tls>;auth_pass=" + a.password +
         ";outbound=\"sip:" + a.proxy_host + ":" + std::to_string(a.proxy_port) +
         ";transport=tls\";answermode=manual;regint=3600";
}

std::string BaresipTraceMessage::start_line() const {
  return trim(text.substr(0, text.find('\n')));
}

bool BaresipTraceMessage::is_request(const std::string& method) const {
  return start_line().rfind(method + " ", 0) == 0;
}

bool BaresipTraceMessage::is_reply(int status) const {
  return start_line().rfind("SIP/2.0 " + std::to_string(status) + " ", 0) == 0;
}

std::vector<std::string> BaresipTraceMessage::header_values(const std::string& name) const {
  std::vector<std::string> values;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // start line
  const std::string want = lower(name) + ":";
  while (std::getline(lines, line)) {
    line = trim(line);
    if (line.empty()) break;  // end of headers
    if (lower(line.substr(0, want.size())) == want)
      values.push_back(trim(line.substr(want.size())));
  }
  return values;
}

std::optional<std::string> BaresipTraceMessage::header(const std::string& name) const {
  std::vector<std::string> values = header_values(name);
  if (values.empty()) return std::nullopt;
  return values.front();
}

std::optional<std::string> BaresipTraceMessage::cseq_method() const {
  auto cseq = header("CSeq");
  if (!cseq) return std::nullopt;
  size_t space = cseq->find(' ');
  if (space == std::string::npos) return std::nullopt;
  return trim(cseq->substr(space + 1));
}

std::vector<BaresipTraceMessage> parse_baresip_trace(const std::string& out) {
  std::vector<BaresipTraceMessage> messages;
  size_t pos = 0;
  while ((pos = out.find(kTraceStart, pos)) != std::string::npos) {
    pos += kTraceStart.size();
    size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) break;
    size_t end = out.find(kTraceEnd, eol);
    if (end == std::string::npos) break;  // still being written
    BaresipTraceMessage m;
    std::istringstream line(out.substr(pos, eol - pos));
    std::string arrow;
    line >> m.transport >> m.source >> arrow >> m.destination;
    m.text = out.substr(eol + 1, end - eol - 1);
    if (arrow == "->") messages.push_back(std::move(m));
    pos = end;
  }
  return messages;
}

Result<std::unique_ptr<BaresipPhone>> BaresipPhone::start(const BaresipOptions& options,
                                                          std::chrono::milliseconds timeout) {
  const std::string binary = baresip_binary();
  if (binary.empty()) return make_error("baresip is not installed");
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<BaresipPhone> phone(new BaresipPhone());
  phone->name_ = options.name;
  phone->local_ip_ = options.local_ip;
  phone->dir_ = std::make_unique<TempDir>("baresip-" + options.name);
  phone->ctrl_port_ = free_tcp_port(options.local_ip);
  {
    std::ofstream(phone->dir_->file("config")) << config_text(options, phone->ctrl_port_);
    std::ofstream(phone->dir_->file("accounts")) << "";  // accounts come with "uanew"
    std::ofstream(phone->dir_->file("contacts")) << "";
  }
  // stdbuf: baresip writes its trace with stdio, which a pipe would buffer until exit.
  ChildOptions co;
  co.stop_grace = std::chrono::milliseconds(1500);
  Result<Child> child =
      Child::start({"stdbuf", "-oL", "-eL", binary, "-f", phone->dir_->path(), "-s"}, co);
  if (!child.ok()) return make_error("cannot start baresip: " + child.message());
  phone->child_ = std::make_unique<Child>(std::move(child).value());
  if (!phone->child_->wait_for_line("baresip is ready", timeout))
    return make_error("baresip " + options.name + " did not become ready:\n" +
                      phone->child_->describe());
  Status connected = phone->connect_ctrl(deadline);
  if (!connected.ok()) return make_error(connected.message() + "\n" + phone->child_->describe());
  return phone;
}

BaresipPhone::~BaresipPhone() {
  stop();
}

void BaresipPhone::stop(std::chrono::milliseconds grace) {
  ctrl_.reset();
  if (child_) child_->stop(grace);
}

Status BaresipPhone::connect_ctrl(Clock::time_point deadline) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(ctrl_port_);
  const std::string& ip = local_ip_;  // ctrl_tcp listens there (config_text)
  if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1)
    return make_error("bad ctrl_tcp address '" + ip + "'");
  for (;;) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return make_error(std::string("socket: ") + strerror(errno));
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      ctrl_ = std::move(fd);
      return Status::Ok();
    }
    const int err = errno;
    if (Clock::now() >= deadline || !child_->running())
      return make_error("cannot connect to baresip's ctrl_tcp on " + ip + ":" +
                        std::to_string(ctrl_port_) + ": " + strerror(err));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool BaresipPhone::read_some(Clock::time_point deadline) {
  if (!ctrl_) return false;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{ctrl_.get(), POLLIN, 0};
  int n = poll(&p, 1, static_cast<int>(left));
  if (n <= 0) return false;
  char buf[8192];
  ssize_t got = recv(ctrl_.get(), buf, sizeof buf, 0);
  if (got <= 0) {
    error_ = got == 0 ? "baresip closed ctrl_tcp" : std::string("recv: ") + strerror(errno);
    ctrl_.reset();
    return false;
  }
  inbuf_.append(buf, static_cast<size_t>(got));
  take_messages();
  return true;
}

// Netstrings: "<length>:<JSON>,".
void BaresipPhone::take_messages() {
  for (;;) {
    size_t colon = inbuf_.find(':');
    if (colon == std::string::npos || colon == 0 || colon > 9) return;
    size_t len = 0;
    for (size_t i = 0; i < colon; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(inbuf_[i]))) {
        error_ = "ctrl_tcp: not a netstring: " + inbuf_.substr(0, 40);
        inbuf_.clear();
        return;
      }
      len = len * 10 + static_cast<size_t>(inbuf_[i] - '0');
    }
    if (inbuf_.size() < colon + 1 + len + 1) return;
    Result<Json> msg = Json::parse(std::string_view(inbuf_).substr(colon + 1, len));
    inbuf_.erase(0, colon + 1 + len + 1);
    if (!msg.ok()) {
      error_ = "ctrl_tcp: bad JSON: " + msg.message();
      continue;
    }
    if (msg->find("event") != nullptr) {
      events_.push_back(std::move(msg).value());
      event_taken_.push_back(false);
    } else if (msg->find("response") != nullptr) {
      responses_.push_back(std::move(msg).value());
    }
  }
}

Result<std::string> BaresipPhone::command(const std::string& command, const std::string& params,
                                          std::chrono::milliseconds timeout) {
  const std::string token = name_ + "-" + std::to_string(++next_token_);
  Json request = Json::object();
  request.add("command", command);
  if (!params.empty()) request.add("params", params);
  request.add("token", token);
  const std::string body = request.dump();
  const std::string wire = std::to_string(body.size()) + ":" + body + ",";
  if (!ctrl_) return make_error("no ctrl_tcp connection to " + name_ + " (" + error_ + ")");
  size_t sent = 0;
  while (sent < wire.size()) {
    ssize_t n = send(ctrl_.get(), wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return make_error("ctrl_tcp send to " + name_ + ": " + strerror(errno));
    sent += static_cast<size_t>(n);
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    for (auto it = responses_.begin(); it != responses_.end(); ++it) {
      const Json* t = it->find("token");
      if (t == nullptr || !t->is_string() || t->as_string() != token) continue;
      const Json* ok = it->find("ok");
      const Json* data = it->find("data");
      std::string text = data && data->is_string() ? data->as_string() : "";
      bool good = ok && ok->is_bool() && ok->as_bool();
      responses_.erase(it);
      if (!good) return make_error(name_ + ": " + command + " failed: " + text);
      return text;
    }
    if (!read_some(deadline))
      return make_error(name_ + ": no response to " + command + " in time (" + error_ + ")");
  }
}

Result<Json> BaresipPhone::wait_event(const std::string& type, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    for (size_t i = 0; i < events_.size(); ++i) {
      if (event_taken_[i]) continue;
      const Json* t = events_[i].find("type");
      if (t && t->is_string() && t->as_string() == type) {
        event_taken_[i] = true;
        return events_[i];
      }
    }
    if (!read_some(deadline) && Clock::now() >= deadline)
      return make_error(name_ + ": no " + type + " event in time; events: " + event_types() +
                        (error_.empty() ? "" : " (" + error_ + ")"));
    if (!ctrl_) return make_error(name_ + ": no " + type + " event: " + error_);
  }
}

std::string BaresipPhone::event_types() const {
  std::string out;
  for (const Json& e : events_) {
    const Json* t = e.find("type");
    const Json* p = e.find("param");
    if (!out.empty()) out += ' ';
    out += t && t->is_string() ? t->as_string() : "?";
    if (p && p->is_string() && !p->as_string().empty()) out += "(" + p->as_string() + ")";
  }
  return out.empty() ? "(none)" : out;
}

std::vector<BaresipTraceMessage> BaresipPhone::trace() const {
  return parse_baresip_trace(child_ ? child_->out() : "");
}

std::vector<BaresipTraceMessage> BaresipPhone::received_from(const std::string& peer) const {
  std::vector<BaresipTraceMessage> all = trace();
  std::vector<BaresipTraceMessage> from;
  std::copy_if(all.begin(), all.end(), std::back_inserter(from),
               [&](const BaresipTraceMessage& m) { return m.source == peer; });
  return from;
}

std::optional<BaresipTraceMessage> BaresipPhone::wait_received(
    const std::string& peer, const std::function<bool(const BaresipTraceMessage&)>& pred,
    std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    for (const BaresipTraceMessage& m : received_from(peer))
      if (pred(m)) return m;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string BaresipPhone::describe() const {
  std::string out = "baresip " + name_ + " events: " + event_types() + "\n";
  if (child_) out += child_->describe();
  return out;
}

}  // namespace sipsd::test
