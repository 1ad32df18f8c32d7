// The MI FIFO client (core/mi_client.h) against a small fake mi_fifo server: a thread that
// reads real FIFOs in a temporary directory and answers as the test says. Also the argument
// building that sipsctl and the opensips-cli look-alike share.
#include "core/ctl/mi_client.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace sipsd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/mi_client_test.XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Names in `dir`, without . and ..
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  return names;
}

Json parse_or_die(const std::string& text) {
  Result<Json> j = Json::parse(text);
  EXPECT_TRUE(j.ok()) << text << ": " << j.message();
  return j.ok() ? *j : Json();
}

// What the fake server saw of one request.
struct SeenRequest {
  std::string reply_name;
  Json request;
  mode_t reply_mode = 0;  // of the reply FIFO, when it existed
};

// A fake mi_fifo: creates <dir>/mi_fifo, reads ":name:{json}" requests and writes whatever
// `answer` returns to <dir>/<name> (nothing at all for nullopt), in `chunks` pieces.
class FakeMiServer {
 public:
  using Answer = std::function<std::optional<std::string>(const Json& request)>;

  FakeMiServer(const std::string& dir, Answer answer)
      : fifo_(dir + "/mi_fifo"), reply_dir_(dir + "/"), answer_(std::move(answer)) {
    EXPECT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    read_fd_ = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    dummy_writer_ = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // no EOF ever
    EXPECT_EQ(pipe(stop_), 0);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeMiServer() {
    char c = 0;
    EXPECT_EQ(write(stop_[1], &c, 1), 1);
    thread_.join();
    for (int fd : {read_fd_, dummy_writer_, stop_[0], stop_[1]}) close(fd);
    unlink(fifo_.c_str());
  }

  const std::string& fifo() const { return fifo_; }
  const std::string& reply_dir() const { return reply_dir_; }
  void set_chunks(int n, std::chrono::milliseconds gap) {
    chunks_ = n;
    chunk_gap_ = gap;
  }
  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  // The usual answer: {"jsonrpc":"2.0","result":R,"id":<the request's id>}.
  static std::string result_reply(const Json& request, const Json& result) {
    Json reply = Json::object();
    reply.add("jsonrpc", "2.0");
    reply.add("result", result);
    const Json* id = request.find("id");
    reply.add("id", id ? *id : Json());
    return reply.dump();
  }

 private:
  void loop() {
    std::string buffer;
    for (;;) {
      pollfd p[2] = {{read_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents) return;
      char buf[4096];
      ssize_t n = read(read_fd_, buf, sizeof buf);
      if (n <= 0) continue;
      buffer.append(buf, static_cast<size_t>(n));
      while (handle_one(&buffer)) {
      }
    }
  }

  bool handle_one(std::string* buffer) {
    size_t i = buffer->find_first_not_of(" \t\r\n");
    if (i == std::string::npos || (*buffer)[i] != ':') {
      buffer->clear();
      return false;
    }
    size_t colon = buffer->find(':', i + 1);
    if (colon == std::string::npos) return false;
    std::string name = buffer->substr(i + 1, colon - i - 1);
    std::string rest = buffer->substr(colon + 1);
    size_t extent = json_value_extent(rest);
    if (extent == 0) return false;
    if (extent == std::string::npos) {
      buffer->clear();
      return false;
    }
    Json request = parse_or_die(rest.substr(0, extent));
    *buffer = rest.substr(extent);

    SeenRequest seen{name, request, 0};
    struct stat st;
    if (stat((reply_dir_ + name).c_str(), &st) == 0) seen.reply_mode = st.st_mode & 07777;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(seen);
    }
    std::optional<std::string> text = answer_(request);
    if (!text) return true;
    reply(reply_dir_ + name, *text);
    return true;
  }

  // As mi_fifo does: open non-blocking with a few retries, write, close (= end of reply).
  void reply(const std::string& path, const std::string& text) {
    int fd = -1;
    for (int attempt = 0; attempt < 5 && fd < 0; ++attempt) {
      fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) std::this_thread::sleep_for(80ms);
    }
    if (fd < 0) return;
    fcntl(fd, F_SETFL, 0);  // blocking writes from here
    size_t piece = chunks_ > 1 ? (text.size() + chunks_ - 1) / chunks_ : text.size();
    for (size_t off = 0; off < text.size(); off += piece) {
      size_t len = std::min(piece, text.size() - off);
      if (write(fd, text.data() + off, len) != static_cast<ssize_t>(len)) break;
      if (chunks_ > 1) std::this_thread::sleep_for(chunk_gap_);
    }
    close(fd);
  }

  std::string fifo_;
  std::string reply_dir_;
  Answer answer_;
  int read_fd_ = -1;
  int dummy_writer_ = -1;
  int stop_[2] = {-1, -1};
  std::atomic<int> chunks_{1};
  std::chrono::milliseconds chunk_gap_{0};
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
  std::thread thread_;
};

MiClientOptions options_for(const FakeMiServer& server) {
  MiClientOptions o;
  o.fifo = server.fifo();
  o.reply_dir = server.reply_dir();
  o.timeout = 3s;
  return o;
}

// Echoes the method and params back as the result.
std::optional<std::string> echo(const Json& request) {
  Json result = Json::object();
  result.add("method", *request.find("method"));
  const Json* params = request.find("params");
  result.add("params", params ? *params : Json());
  return FakeMiServer::result_reply(request, result);
}

// ---- the exchange ----------------------------------------------------------------------------

TEST(MiClient, RoundTripSendsJsonRpcAndReturnsTheWholeResponse) {
  TempDir dir;
  FakeMiServer server(dir.path(), echo);
  Json params = Json::array();
  params.push("3");
  params.push("4242");
  Result<Json> response = mi_call(options_for(server), "log_level", params);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->find("jsonrpc")->as_string(), "2.0");
  EXPECT_EQ(response->find("result")->find("method")->as_string(), "log_level");
  EXPECT_EQ(response->find("result")->find("params")->dump(), "[\"3\",\"4242\"]");

  std::vector<SeenRequest> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  const Json& req = seen[0].request;
  EXPECT_EQ(req.find("jsonrpc")->as_string(), "2.0");
  EXPECT_EQ(req.find("method")->as_string(), "log_level");
  const Json* id = req.find("id");
  ASSERT_TRUE(id && id->is_string());
  EXPECT_TRUE(std::regex_match(id->as_string(), std::regex("[0-9]+"))) << id->as_string();
  EXPECT_EQ(response->find("id")->as_string(), id->as_string());
  EXPECT_TRUE(
      std::regex_match(seen[0].reply_name, std::regex("sipsctl_reply_[0-9]+_[0-9]+_[0-9]+")))
      << seen[0].reply_name;
  EXPECT_EQ(seen[0].reply_mode, 0600u);
  // Only the server's FIFO is left: the reply FIFO is gone.
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
}

TEST(MiClient, NoParamsAndReplyModeOption) {
  TempDir dir;
  FakeMiServer server(dir.path(), echo);
  MiClientOptions o = options_for(server);
  o.reply_dir = dir.path();  // no trailing '/': the client adds it
  o.reply_mode = 0666;
  o.reply_prefix = "other_reply_";
  Result<Json> response = mi_call(o, "uptime", Json());
  ASSERT_TRUE(response.ok()) << response.message();
  std::vector<SeenRequest> seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request.find("params"), nullptr);
  EXPECT_EQ(seen[0].reply_mode, 0666u);  // whatever the umask
  EXPECT_EQ(seen[0].reply_name.rfind("other_reply_", 0), 0u);

  // Several calls in a row, each with its own id and reply FIFO.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(mi_call(o, "ps", Json::object()).ok());
  seen = server.seen();
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[5].request.find("params")->dump(), "{}");
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
}

TEST(MiClient, ErrorRepliesAreReturnedForTheCallerToJudge) {
  TempDir dir;
  FakeMiServer server(dir.path(), [](const Json& request) -> std::optional<std::string> {
    return "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"Invalid params\","
           "\"data\":\"Bad type for parameter 'level'\"},\"id\":" +
           request.find("id")->dump() + "}";
  });
  Json params = Json::array();
  params.push("abc");
  Result<Json> response = mi_call(options_for(server), "log_level", params);
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(response->find("result"), nullptr);
  EXPECT_EQ(mi_error_text(*response), "-32602 Invalid params: Bad type for parameter 'level'");
  EXPECT_EQ(mi_error_text(parse_or_die(
                "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":404,\"message\":\"Statistics Not "
                "Found\"},\"id\":\"1\"}")),
            "404 Statistics Not Found");
  EXPECT_EQ(mi_error_text(parse_or_die("{\"result\":\"OK\"}")), "");
}

TEST(MiClient, InvalidRequestErrorsWithNullIdAreAccepted) {
  TempDir dir;
  FakeMiServer server(dir.path(), [](const Json&) -> std::optional<std::string> {
    return "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"},"
           "\"id\":null}";
  });
  Result<Json> response = mi_call(options_for(server), "ps", Json::object());
  ASSERT_TRUE(response.ok()) << response.message();
  EXPECT_EQ(mi_error_text(*response), "-32600 Invalid Request");
}

TEST(MiClient, TimesOutWhenNobodyAnswersAndRemovesTheReplyFifo) {
  TempDir dir;
  FakeMiServer server(dir.path(), [](const Json&) { return std::nullopt; });
  MiClientOptions o = options_for(server);
  o.timeout = 300ms;
  auto start = Clock::now();
  Result<Json> response = mi_call(o, "uptime", Json::object());
  auto took = Clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.message().find("no reply from sipsd within 0.3 s"), std::string::npos)
      << response.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
}

TEST(MiClient, ClearErrorsWhenTheServerFifoIsMissingNotAFifoOrUnread) {
  TempDir dir;
  MiClientOptions o;
  o.reply_dir = dir.path();
  o.timeout = 1s;

  o.fifo = dir.path() + "/nosuch";
  Result<Json> r = mi_call(o, "ps", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("does not exist"), std::string::npos) << r.message();

  o.fifo = dir.path() + "/plain";
  std::ofstream(o.fifo) << "x";
  r = mi_call(o, "ps", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), o.fifo + " is not a FIFO");

  // A FIFO nobody reads: a stopped server whose FIFO is still there.
  o.fifo = dir.path() + "/orphan_fifo";
  ASSERT_EQ(mkfifo(o.fifo.c_str(), 0600), 0);
  auto start = Clock::now();
  r = mi_call(o, "ps", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "sipsd is not running (no reader on FIFO " + o.fifo + ")");
  EXPECT_LT(Clock::now() - start, 500ms);  // at once, not after the timeout

  std::vector<std::string> left = list_dir(dir.path());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"orphan_fifo", "plain"}));
}

TEST(MiClient, ReplyDirectoryProblemsAreReported) {
  TempDir dir;
  FakeMiServer server(dir.path(), echo);
  MiClientOptions o = options_for(server);
  o.reply_dir = dir.path() + "/missing/";
  Result<Json> r = mi_call(o, "ps", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("cannot create reply FIFO " + dir.path() + "/missing/sipsctl_reply_"),
            std::string::npos)
      << r.message();

  o.reply_dir = "/tmp/" + std::string(120, 'd');
  r = mi_call(o, "ps", Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("the server takes at most 127"), std::string::npos) << r.message();
  EXPECT_TRUE(server.seen().empty());
}

TEST(MiClient, LargeRepliesInSeveralWritesAreReadToTheEnd) {
  TempDir dir;
  FakeMiServer server(dir.path(), [](const Json& request) -> std::optional<std::string> {
    Json conns = Json::array();
    for (int i = 0; i < 3000; ++i) {
      Json c = Json::object();
      c.add("ID", i);
      c.add("Type", "tls");
      c.add("Remote", "127.0.0.1:" + std::to_string(10000 + i));
      conns.push(std::move(c));
    }
    Json result = Json::object();
    result.add("Connections", std::move(conns));
    return FakeMiServer::result_reply(request, result);
  });
  server.set_chunks(7, 20ms);
  Result<Json> r = mi_call(options_for(server), "list_tcp_conns", Json::object());
  ASSERT_TRUE(r.ok()) << r.message();
  const Json* conns = r->find("result")->find("Connections");
  ASSERT_TRUE(conns && conns->is_array());
  EXPECT_EQ(conns->size(), 3000u);
  EXPECT_EQ(conns->items()[2999].find("ID")->as_int(), 2999);
}

TEST(MiClient, RepliesThatAreNotJsonRpcAreErrors) {
  TempDir dir;
  std::string next;
  std::mutex mu;
  FakeMiServer server(dir.path(), [&](const Json& request) -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(mu);
    if (next == "<echo with another id>")
      return "{\"jsonrpc\":\"2.0\",\"result\":\"OK\",\"id\":\"not-yours\"}";
    return next;
  });
  MiClientOptions o = options_for(server);
  auto call_with = [&](const std::string& reply) {
    {
      std::lock_guard<std::mutex> lock(mu);
      next = reply;
    }
    return mi_call(o, "ps", Json::object());
  };

  Result<Json> r = call_with("failed to build response");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("could not decode the reply"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("'failed to build response'"), std::string::npos) << r.message();

  r = call_with("{\"jsonrpc\":\"2.0\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("neither \"result\" nor \"error\""), std::string::npos);

  r = call_with("<echo with another id>");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("answers another request"), std::string::npos) << r.message();

  // Closed without a word: an error, unless the caller expects it (kill, shutdown).
  r = call_with("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "sipsd closed the reply FIFO without answering");
  o.allow_empty_reply = true;
  r = call_with("");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->is_null());

  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
}

TEST(MiClient, RequestsLargerThanTheServerReadsAreRefused) {
  TempDir dir;
  FakeMiServer server(dir.path(), echo);
  Json params = Json::array();
  params.push(std::string(5000, 'x'));
  Result<Json> r = mi_call(options_for(server), "log_level", params);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("request too large"), std::string::npos) << r.message();
  EXPECT_TRUE(server.seen().empty());
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
  EXPECT_FALSE(mi_call(options_for(server), "ps", Json("not params")).ok());
}

volatile sig_atomic_t g_test_interrupted = 0;
void on_test_signal(int) {
  g_test_interrupted = 1;
}

TEST(MiClient, ASignalWithTheInterruptFlagEndsTheWait) {
  TempDir dir;
  FakeMiServer server(dir.path(), [](const Json&) { return std::nullopt; });
  struct sigaction sa = {};
  struct sigaction old = {};
  sa.sa_handler = on_test_signal;  // no SA_RESTART: poll() returns EINTR
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  g_test_interrupted = 0;
  MiClientOptions o = options_for(server);
  o.timeout = 10s;
  o.interrupted = &g_test_interrupted;
  pthread_t self = pthread_self();
  std::thread interrupter([self] {
    std::this_thread::sleep_for(200ms);
    pthread_kill(self, SIGUSR2);
  });
  auto start = Clock::now();
  Result<Json> r = mi_call(o, "ps", Json::object());
  interrupter.join();
  sigaction(SIGUSR2, &old, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "interrupted");
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"mi_fifo"});
}

TEST(MiClient, WritingToAFifoWhoseReaderLeftIsAnErrorNotASignal) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  Status s = mi_write_all(fds[1], "hello", Clock::now() + 1s);
  close(fds[1]);
  ASSERT_FALSE(s.ok());  // and the test process is still here: no SIGPIPE
  EXPECT_NE(s.message().find("went away"), std::string::npos) << s.message();
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

TEST(MiClient, ReplyFifoIsRemovedWithItsOwner) {
  TempDir dir;
  std::string path;
  {
    Result<MiReplyFifo> fifo = MiReplyFifo::create(dir.path(), "t_", 0640);
    ASSERT_TRUE(fifo.ok()) << fifo.message();
    MiReplyFifo moved = std::move(*fifo);
    path = moved.path();
    EXPECT_EQ(path, dir.path() + "/" + moved.name());
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    ASSERT_TRUE(moved.open_for_reading().ok());
    // Nobody writes: the read times out instead of reporting an empty reply.
    Result<std::string> r = moved.read_reply(Clock::now() + 100ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "timeout");
  }
  EXPECT_TRUE(list_dir(dir.path()).empty()) << path;
}

TEST(MiClient, ReplyFifoNamesAreWhatTheServerAccepts) {
  std::string name = mi_reply_fifo_name("sipsctl_reply_");
  EXPECT_TRUE(std::regex_match(name, std::regex("sipsctl_reply_[0-9]+_[0-9]+_[0-9]+"))) << name;
  EXPECT_TRUE(mi_reply_name_ok(name));
  EXPECT_NE(mi_reply_fifo_name("p_"), mi_reply_fifo_name("p_"));
  for (const char* bad : {"", "a.b", "a/b", "a\\b", "a:b"}) EXPECT_FALSE(mi_reply_name_ok(bad));
  EXPECT_NE(mi_random_id(), mi_random_id());
  EXPECT_EQ(mi_request("ps", Json(), "12").dump(),
            "{\"jsonrpc\":\"2.0\",\"method\":\"ps\",\"id\":\"12\"}");
  EXPECT_EQ(mi_request("ps", Json::object(), "12").dump(),
            "{\"jsonrpc\":\"2.0\",\"method\":\"ps\",\"params\":{},\"id\":\"12\"}");
}

// ---- arguments -------------------------------------------------------------------------------

std::string params_of(const std::string& cmd, const std::vector<std::string>& args) {
  Result<Json> p = mi_params_from_args(cmd, args);
  return p.ok() ? p->dump() : "error: " + p.message();
}

TEST(MiClientArgs, PositionalArgumentsAreStrings) {
  EXPECT_EQ(params_of("log_level", {"3"}), "[\"3\"]");
  EXPECT_EQ(params_of("log_level", {"3", "4242"}), "[\"3\",\"4242\"]");
  EXPECT_EQ(params_of("tls_trace", {"on"}), "[\"on\"]");
  EXPECT_EQ(params_of("ps", {}), "{}");
  // '=' after something that is not a parameter name is a value.
  EXPECT_EQ(params_of("tcp_close", {"sip:a@b;x=y"}), "[\"sip:a@b;x=y\"]");
  EXPECT_EQ(params_of("x", {"=3"}), "[\"=3\"]");
}

TEST(MiClientArgs, NameValueArgumentsAreAnObject) {
  EXPECT_EQ(params_of("log_level", {"level=3"}), "{\"level\":\"3\"}");
  EXPECT_EQ(params_of("log_level", {"level=3", "pid=4242"}), "{\"level\":\"3\",\"pid\":\"4242\"}");
  EXPECT_EQ(params_of("help", {"mi_cmd="}), "{\"mi_cmd\":\"\"}");
  EXPECT_EQ(params_of("log_level", {"level=3", "4242"}),
            "error: cannot mix positional and name=value arguments (log_level)");
  EXPECT_EQ(params_of("log_level", {"level=3", "level=4"}), "error: parameter 'level' given twice");
}

TEST(MiClientArgs, StatisticsSelectorsAreGroupedIntoOneArray) {
  EXPECT_EQ(params_of("get_statistics", {"core:", "tls:"}), "[[\"core:\",\"tls:\"]]");
  EXPECT_EQ(params_of("get_statistics", {"rcv_requests"}), "[[\"rcv_requests\"]]");
  EXPECT_EQ(params_of("list_statistics", {"core:"}), "[[\"core:\"]]");
  EXPECT_EQ(params_of("reset_statistics", {"rcv_requests", "tls:handshakes_ok"}),
            "[[\"rcv_requests\",\"tls:handshakes_ok\"]]");
  EXPECT_EQ(params_of("statistics:get", {"all"}), "[[\"all\"]]");
  EXPECT_EQ(params_of("get_statistics", {}), "{}");  // sipsctl turns this into [["all"]]
  EXPECT_EQ(params_of("get_statistics", {"statistics=used_size rcv_requests"}),
            "{\"statistics\":[\"used_size\",\"rcv_requests\"]}");
  EXPECT_EQ(params_of("get_statistics", {"statistics='core:' \"tls:\""}),
            "{\"statistics\":[\"core:\",\"tls:\"]}");
}

TEST(MiClientArgs, WordsSplitLikeAShellLine) {
  EXPECT_EQ(mi_split_words("  a  b\tc "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(mi_split_words("'a b' \"c \\\" d\" e\\ f ''"),
            (std::vector<std::string>{"a b", "c \" d", "e f", ""}));
  EXPECT_TRUE(mi_split_words("").empty());
}

}  // namespace
}  // namespace sipsd
