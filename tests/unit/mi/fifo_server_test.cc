// MiFifoServer against real FIFOs in a temporary directory, on an in-process event loop that
// the test pumps while it plays the client. Every wait is bounded.
#include "core/mi/fifo_server.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/cfg/config.h"
#include "core/mi/rpc.h"
#include "tests/unit/mi/mi_test_command.h"

namespace sipsd {
namespace {

using test::command;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sipsd_mi_fifo.XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Redirects this process's stderr (where the logger writes) to a file while alive.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& file) : file_(file) {
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { restore(); }
  // Everything logged so far.
  std::string text() const {
    std::ifstream in(file_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void restore() {
    if (saved_ < 0) return;
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }

 private:
  std::string file_;
  int saved_ = -1;
};

constexpr const char* kOkReply = R"({"jsonrpc":"2.0","result":"OK","id":"1"})";

std::string request(const std::string& reply_name, const std::string& method,
                    const std::string& id = "\"1\"") {
  return ":" + reply_name + ":{\"jsonrpc\":\"2.0\",\"method\":\"" + method +
         "\",\"params\":{},\"id\":" + id + "}";
}

class MiFifo : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    base_.reset(event_base_new());
    params_.fifo_name = dir_.path() + "/sipsd_fifo";
    params_.reply_dir = dir_.path() + "/";
    reg_.add(command("ok", {{}}, [this](const MiParams&) -> MiResult {
      ++runs_;
      return Json("OK");
    }));
    reg_.add(command("order", {{"n"}}, [this](const MiParams& p) -> MiResult {
      auto n = p.get_int("n");
      order_.push_back(static_cast<int>(std::get<int64_t>(n)));
      return Json(std::get<int64_t>(n));
    }));
    reg_.add(command("big", {{"bytes"}}, [](const MiParams& p) -> MiResult {
      auto n = p.get_int("bytes");
      return Json(std::string(static_cast<size_t>(std::get<int64_t>(n)), 'x'));
    }));
    mi_add_builtins(&reg_);
    limits_.partial_request_ms = 300;
    limits_.reply_stall_ms = 300;
  }

  void TearDown() override {
    server_.reset();
    base_.reset();
  }

  void start() {
    auto s = MiFifoServer::start(base_.get(), params_, &reg_, limits_);
    ASSERT_TRUE(s.ok()) << s.message();
    server_ = std::move(s).value();
  }

  // Runs the server's loop for about `ms` milliseconds.
  void pump(int ms) {
    const int64_t end = monotonic_ms() + ms;
    do {
      event_base_loop(base_.get(), EVLOOP_NONBLOCK);
      usleep(2000);
    } while (monotonic_ms() < end);
  }

  // Pumps until `done()` or `max_ms` (a busy machine may run the timer late).
  template <typename Pred>
  void pump_until(Pred done, int max_ms) {
    const int64_t end = monotonic_ms() + max_ms;
    while (!done() && monotonic_ms() < end) pump(10);
  }

  // Writes `bytes` to the server FIFO, pumping the loop while the pipe is full.
  void send(const std::string& bytes) {
    int fd = open(params_.fifo_name.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(fd, 0) << params_.fifo_name << ": " << strerror(errno);
    size_t off = 0;
    const int64_t deadline = monotonic_ms() + 5000;
    while (off < bytes.size() && monotonic_ms() < deadline) {
      ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else {
        pump(5);
      }
    }
    close(fd);
    EXPECT_EQ(off, bytes.size()) << "the server stopped reading";
  }

  std::string path_of(const std::string& name) const { return dir_.path() + "/" + name; }

  void make_fifo(const std::string& name) {
    ASSERT_EQ(mkfifo(path_of(name).c_str(), 0600), 0) << strerror(errno);
  }

  // A client's end of a reply FIFO: opened for reading before the request is sent.
  int open_reader(const std::string& name) {
    int fd = open(path_of(name).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(fd, 0) << name << ": " << strerror(errno);
    return fd;
  }

  // Reads until the server closes its end (the reply, possibly empty) while pumping the loop;
  // nullopt when that does not happen within timeout_ms.
  std::optional<std::string> read_reply(int fd, int timeout_ms = 2000) {
    std::string out;
    const int64_t deadline = monotonic_ms() + timeout_ms;
    while (monotonic_ms() < deadline) {
      event_base_loop(base_.get(), EVLOOP_NONBLOCK);
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 2) <= 0) continue;  // no writer came yet, or nothing new
      char buf[65536];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        return out;  // a writer came and went: end of reply
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> send_and_read(const std::string& name, const std::string& bytes,
                                           int timeout_ms = 2000) {
    int fd = open_reader(name);
    send(bytes);
    std::optional<std::string> r = read_reply(fd, timeout_ms);
    close(fd);
    return r;
  }

  TempDir dir_;
  EventBasePtr base_;
  MiRegistry reg_;
  MiFifoParams params_;
  MiFifoServer::Limits limits_;
  std::unique_ptr<MiFifoServer> server_;
  int runs_ = 0;
  std::vector<int> order_;
};

TEST_F(MiFifo, CreatesTheFifoWithItsModeAndRemovesItOnShutdown) {
  const mode_t old_umask = umask(0077);
  params_.fifo_mode = 0640;
  start();
  umask(old_umask);
  struct stat st;
  ASSERT_EQ(lstat(params_.fifo_name.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // chmod'ed: the umask does not narrow it
  server_.reset();
  EXPECT_NE(access(params_.fifo_name.c_str(), F_OK), 0);
}

TEST_F(MiFifo, DefaultModeIs0600AndZeroMeans0600) {
  params_.fifo_mode = 0;
  start();
  struct stat st;
  ASSERT_EQ(stat(params_.fifo_name.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(MiFifoParams().fifo_mode, 0600);
  EXPECT_EQ(MiFifoParams().fifo_name, "/tmp/opensips_fifo");
  EXPECT_EQ(MiFifoParams().reply_dir, "/tmp/");
}

TEST_F(MiFifo, AnswersAValidRequest) {
  start();
  make_fifo("reply_1");
  EXPECT_EQ(send_and_read("reply_1", request("reply_1", "ok")), kOkReply);
  // The id keeps its type; which lists the commands (what opensips-cli asks first).
  EXPECT_EQ(send_and_read("reply_1", request("reply_1", "ok", "77")),
            R"({"jsonrpc":"2.0","result":"OK","id":77})");
  EXPECT_EQ(send_and_read("reply_1", request("reply_1", "which")),
            R"({"jsonrpc":"2.0","result":["ok","order","big","which","help"],"id":"1"})");
  EXPECT_EQ(
      send_and_read("reply_1", ":reply_1:{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\",\"id\":1}"),
      R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1})");
  EXPECT_EQ(server_->counters().replies, 4u);
}

TEST_F(MiFifo, LeadingWhitespaceAndNumericStringParams) {
  start();
  make_fifo("r");
  EXPECT_EQ(send_and_read("r",
                          " \n\t:r:{\"jsonrpc\":\"2.0\",\"method\":\"order\",\"params\":[\"5\"],"
                          "\"id\":\"9\"}\n"),
            R"({"jsonrpc":"2.0","result":5,"id":"9"})");
}

TEST_F(MiFifo, InvalidJsonGetsNoReply) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  EXPECT_EQ(send_and_read("r", ":r:{\"jsonrpc\":\"2.0\",\"method\":}", 400), std::nullopt);
  EXPECT_EQ(send_and_read("r", ":r:not json at all", 400), std::nullopt);
  log.restore();
  EXPECT_NE(log.text().find("cannot parse command"), std::string::npos) << log.text();
  EXPECT_EQ(server_->counters().refused, 2u);
  EXPECT_EQ(server_->counters().requests, 0u);
  // Still serving.
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, InputNotStartingWithAColonIsDropped) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  EXPECT_EQ(send_and_read("r", "r:{\"jsonrpc\":\"2.0\",\"method\":\"ok\",\"id\":\"1\"}", 400),
            std::nullopt);
  log.restore();
  EXPECT_NE(log.text().find("command must begin with ':'"), std::string::npos) << log.text();
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, ForbiddenReplyNamesGetNoReply) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  // None of these is answered, not even to "r" (the reader waiting there gets nothing).
  int fd = open_reader("r");
  send(request("r.x", "ok") + request("..", "ok") + request("a\\b", "ok") + "\n:a/r:{}\n" +
       request(std::string("r\x01"), "ok"));
  EXPECT_EQ(read_reply(fd, 400), std::nullopt);
  close(fd);
  log.restore();
  const std::string text = log.text();
  size_t count = 0;
  for (size_t p = text.find("forbidden filename"); p != std::string::npos;
       p = text.find("forbidden filename", p + 1))
    ++count;
  EXPECT_EQ(count, 5u) << text;
  EXPECT_EQ(runs_, 0);
}

TEST_F(MiFifo, NotificationGetsAnEmptyReply) {
  start();
  make_fifo("r");
  EXPECT_EQ(send_and_read("r", ":r:{\"jsonrpc\":\"2.0\",\"method\":\"ok\"}"), "");
  EXPECT_EQ(runs_, 1);
  // An invalid request is answered even without an id.
  EXPECT_EQ(send_and_read("r", ":r:{\"jsonrpc\":\"1.0\",\"method\":\"ok\"}"),
            R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null})");
}

TEST_F(MiFifo, EmptyReplyNameRunsWithoutReplying) {
  start();
  send(request("", "ok"));
  pump(50);
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(server_->counters().requests, 1u);
  EXPECT_EQ(server_->counters().replies, 0u);
}

TEST_F(MiFifo, ManyRequestsInOneWriteAreAllAnsweredInOrder) {
  start();
  std::vector<int> readers;
  std::string all;
  for (int i = 0; i < 6; ++i) {
    const std::string name = "r" + std::to_string(i);
    make_fifo(name);
    readers.push_back(open_reader(name));
    all += ":" + name +
           ":{\"jsonrpc\":\"2.0\",\"method\":\"order\",\"params\":{\"n\":" + std::to_string(i) +
           "},\"id\":" + std::to_string(i) + "}";
    all += i % 2 ? "\n" : "";  // back to back, or separated by a newline
  }
  send(all);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(read_reply(readers[i]), "{\"jsonrpc\":\"2.0\",\"result\":" + std::to_string(i) +
                                          ",\"id\":" + std::to_string(i) + "}");
    close(readers[i]);
  }
  EXPECT_EQ(order_, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(MiFifo, TwoRequestsToTheSameReplyFifoAreAnsweredOneAfterTheOther) {
  start();
  make_fifo("r");
  int fd = open_reader("r");
  send(request("r", "ok", "1") + request("r", "ok", "2"));
  // Both replies arrive on the one FIFO, whole and in order (the second may follow the first
  // within the same open, since the reader never closed in between).
  std::string got;
  const std::string want = std::string(R"({"jsonrpc":"2.0","result":"OK","id":1})") +
                           R"({"jsonrpc":"2.0","result":"OK","id":2})";
  const int64_t deadline = monotonic_ms() + 2000;
  while (got.size() < want.size() && monotonic_ms() < deadline) {
    std::optional<std::string> part = read_reply(fd, 500);
    if (part) got += *part;
  }
  close(fd);
  EXPECT_EQ(got, want);
}

TEST_F(MiFifo, ARequestSplitAcrossTwoWrites) {
  start();
  make_fifo("r");
  int fd = open_reader("r");
  const std::string req = request("r", "ok");
  send(req.substr(0, 20));
  EXPECT_EQ(read_reply(fd, 100), std::nullopt);  // waits for the rest
  send(req.substr(20));
  EXPECT_EQ(read_reply(fd), kOkReply);
  close(fd);
}

TEST_F(MiFifo, AnIncompleteRequestIsDroppedAfterATimeLimit) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  send(":r:{\"jsonrpc\":\"2.0\",");
  pump(limits_.partial_request_ms - 100);
  EXPECT_EQ(server_->counters().refused, 0u);  // not before the time limit
  pump_until([&] { return server_->counters().refused == 1u; }, 5000);
  log.restore();
  EXPECT_NE(log.text().find("request incomplete after 300 ms"), std::string::npos) << log.text();
  EXPECT_EQ(server_->counters().refused, 1u);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

// ---- isolation between writers (issue 13, item 4) ----------------------------------------------
// Each of these left the complete request unanswered before: it was swallowed together with the
// bad or partial one, or waited behind reply FIFOs nobody opened. The reads below wait less than
// partial_request_ms (300 ms here), so an answer that only came after the partial request timed
// out would not count.

TEST_F(MiFifo, AnUnbalancedRequestDoesNotSwallowTheNextOne) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  send(":x:{not json");
  EXPECT_EQ(send_and_read("r", request("r", "ok"), 200), kOkReply);
  log.restore();
  EXPECT_NE(log.text().find("incomplete request for reply fifo 'x' dropped: another request "
                            "follows; 12 bytes dropped: :x:{not json"),
            std::string::npos)
      << log.text();
  EXPECT_EQ(runs_, 1);
}

TEST_F(MiFifo, APartialRequestNeverDelaysAnotherWritersCompleteOne) {
  start();
  make_fifo("r");
  make_fifo("a");
  StderrCapture log(dir_.path() + "/log");
  const std::string a = request("a", "order", "7");
  send(a.substr(0, 25));  // writer A: half a request (ends inside a string)
  EXPECT_EQ(send_and_read("r", request("r", "ok"), 200), kOkReply);  // writer B
  // A's rest comes late: it is dropped on its own, and C is still answered.
  send(a.substr(25));
  EXPECT_EQ(send_and_read("r", request("r", "ok", "3"), 200),
            R"({"jsonrpc":"2.0","result":"OK","id":3})");
  log.restore();
  EXPECT_NE(log.text().find("incomplete request for reply fifo 'a' dropped"), std::string::npos)
      << log.text();
  EXPECT_NE(log.text().find("command must begin with ':'"), std::string::npos) << log.text();
  EXPECT_EQ(runs_, 2);
  EXPECT_TRUE(order_.empty());
}

TEST_F(MiFifo, TheTailOfAPartialRequestDoesNotTakeTheNextOneWithIt) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  // Garbage, then a request in the same read: only the garbage goes.
  EXPECT_EQ(send_and_read("r", "\"}]} tail of something" + request("r", "ok"), 200), kOkReply);
  // Invalid but delimited JSON that swallowed the start of another request (the first was cut
  // inside a string): the complete request inside is kept.
  EXPECT_EQ(send_and_read("r", ":a:{\"method\":\"x" + request("r", "ok") + "\"}", 200), kOkReply);
  log.restore();
  EXPECT_EQ(runs_, 2) << log.text();
}

TEST_F(MiFifo, ReplyFifosNobodyOpensDoNotHoldUpOtherRequests) {
  start();
  make_fifo("r");
  std::string all;
  for (int i = 0; i < 10; ++i) {
    make_fifo("nobody" + std::to_string(i));
    all += request("nobody" + std::to_string(i), "ok");
  }
  StderrCapture log(dir_.path() + "/log");
  send(all);
  // 10 x 320 ms if they were waited for one after the other.
  EXPECT_EQ(send_and_read("r", request("r", "ok"), 200), kOkReply);
  // Then each is given up on after its own 4 retries (bounded wait: a loaded machine is slow).
  const int64_t deadline = monotonic_ms() + 5000;
  while (server_->counters().replies_failed < 10 && monotonic_ms() < deadline) pump(20);
  log.restore();
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(log.text().find("no client at " + path_of("nobody" + std::to_string(i))),
              std::string::npos)
        << log.text();
  }
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(server_->counters().replies_failed, 10u);
}

TEST_F(MiFifo, ASlowReaderDoesNotHoldUpOtherRequests) {
  start();
  make_fifo("slow");
  make_fifo("r");
  int slow = open_reader("slow");  // opens, never reads: the 200 kB reply fills the pipe
  send(":slow:{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":[200000],\"id\":1}");
  pump(20);
  EXPECT_EQ(send_and_read("r", request("r", "ok"), 200), kOkReply);
  close(slow);
}

TEST_F(MiFifo, AtMostMaxRepliesWaitAtOnceAndTheRestFollow) {
  limits_.max_replies = 2;
  start();
  std::string all;
  std::vector<int> readers;
  for (int i = 0; i < 5; ++i) {
    make_fifo("q" + std::to_string(i));
    all += ":q" + std::to_string(i) +
           ":{\"jsonrpc\":\"2.0\",\"method\":\"order\",\"params\":{\"n\":" + std::to_string(i) +
           "},\"id\":1}";
  }
  send(all);
  pump(20);
  EXPECT_TRUE(order_.empty());  // nobody reads yet: two are retrying, three wait
  for (int i = 4; i >= 0; --i) readers.push_back(open_reader("q" + std::to_string(i)));
  for (int fd : readers) {
    EXPECT_NE(read_reply(fd), std::nullopt);
    close(fd);
  }
  EXPECT_EQ(order_.size(), 5u);
}

TEST_F(MiFifo, OversizedInputIsDroppedAndTheServerCarriesOn) {
  limits_.max_buffer = 8192;
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  send(":r:{\"a\":\"" + std::string(20000, 'z'));  // never completes, larger than the buffer
  pump(50);
  send(std::string(300, 'q'));  // a name without ':' that goes on and on
  pump(50);
  log.restore();
  EXPECT_NE(log.text().find("request does not fit in the input buffer"), std::string::npos)
      << log.text();
  EXPECT_GE(server_->counters().refused, 2u);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, DeeplyNestedJsonIsRefusedQuickly) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  // The parser would take seconds on this; the server refuses it before parsing.
  const int depth = 30000;
  const int64_t t0 = monotonic_ms();
  EXPECT_EQ(send_and_read("r", ":r:" + std::string(depth, '[') + std::string(depth, ']'), 300),
            std::nullopt);
  EXPECT_LT(monotonic_ms() - t0, 1000);
  log.restore();
  EXPECT_NE(log.text().find("cannot parse command for reply fifo 'r': nested deeper than 32 "
                            "levels"),
            std::string::npos)
      << log.text();
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, MissingReplyFifoIsLoggedAndTheServerCarriesOn) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  EXPECT_EQ(send_and_read("r", request("gone", "ok") + request("r", "ok")), kOkReply);
  log.restore();
  EXPECT_NE(log.text().find("cannot open reply fifo " + path_of("gone")), std::string::npos)
      << log.text();
  EXPECT_EQ(runs_, 1);  // the command whose reply nobody could read did not run
  EXPECT_EQ(server_->counters().replies_failed, 1u);
}

TEST_F(MiFifo, ReplyFifoOpenedLateIsStillAnswered) {
  start();
  make_fifo("r");
  send(request("r", "ok"));
  pump(130);  // the server is retrying: nobody reads "r" yet
  EXPECT_EQ(runs_, 0);
  int fd = open_reader("r");
  EXPECT_EQ(read_reply(fd), kOkReply);
  close(fd);
}

TEST_F(MiFifo, NoClientAtTheReplyFifo) {
  start();
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  send(request("r", "ok"));
  pump(4 * 80 + 200);
  log.restore();
  EXPECT_NE(log.text().find("no client at " + path_of("r")), std::string::npos) << log.text();
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);  // and carries on
}

TEST_F(MiFifo, RefusesSymlinksRegularFilesAndHardLinks) {
  start();
  make_fifo("target");
  ASSERT_EQ(symlink(path_of("target").c_str(), path_of("link").c_str()), 0);
  { std::ofstream(path_of("plain")) << ""; }
  make_fifo("linked");
  ASSERT_EQ(link(path_of("linked").c_str(), path_of("linked2").c_str()), 0);
  StderrCapture log(dir_.path() + "/log");
  int target = open_reader("target");
  int linked = open_reader("linked");
  send(request("link", "ok") + request("plain", "ok") + request("linked", "ok"));
  EXPECT_EQ(read_reply(target, 300), std::nullopt);
  EXPECT_EQ(read_reply(linked, 100), std::nullopt);
  close(target);
  close(linked);
  log.restore();
  const std::string text = log.text();
  EXPECT_NE(text.find("refusing reply fifo " + path_of("link") + ": it is a symbolic link"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("refusing reply fifo " + path_of("plain") + ": it is a regular file"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("refusing reply fifo " + path_of("linked") + ": it is hard-linked"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::filesystem::file_size(path_of("plain")), 0u);
  EXPECT_EQ(runs_, 0);
}

TEST_F(MiFifo, RefusesTheMiFifoItselfAndOverlongPaths) {
  start();
  StderrCapture log(dir_.path() + "/log");
  send(request("sipsd_fifo", "ok") + request(std::string(130, 'n'), "ok"));
  pump(50);
  log.restore();
  EXPECT_NE(log.text().find("it is the MI FIFO itself"), std::string::npos) << log.text();
  EXPECT_NE(log.text().find("is too long"), std::string::npos) << log.text();
  EXPECT_EQ(runs_, 0);
}

TEST_F(MiFifo, DeliversLargeRepliesWhole) {
  start();
  make_fifo("r");
  for (int bytes : {40 * 1000, 1000 * 1000}) {
    int fd = open_reader("r");
    // A small pipe makes the 40 KB reply need many writable events too.
    fcntl(fd, F_SETPIPE_SZ, 4096);
    send(":r:{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":[" + std::to_string(bytes) +
         "],\"id\":1}");
    std::optional<std::string> got = read_reply(fd, 5000);
    close(fd);
    ASSERT_TRUE(got.has_value()) << bytes;
    EXPECT_EQ(*got,
              "{\"jsonrpc\":\"2.0\",\"result\":\"" + std::string(bytes, 'x') + "\",\"id\":1}");
  }
  EXPECT_EQ(server_->counters().replies, 2u);
}

TEST_F(MiFifo, AReaderThatStopsReadingIsAbandoned) {
  start();
  make_fifo("slow");
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  int slow = open_reader("slow");  // opened, never read
  send(":slow:{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":[1000000],\"id\":1}");
  pump(limits_.reply_stall_ms + 200);
  close(slow);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
  log.restore();
  EXPECT_NE(log.text().find("reply to " + path_of("slow") +
                            " abandoned: the reader took nothing for 300 ms"),
            std::string::npos)
      << log.text();
  EXPECT_EQ(server_->counters().replies_failed, 1u);
}

TEST_F(MiFifo, AReaderThatGoesAwayMidReply) {
  start();
  make_fifo("gone");
  make_fifo("r");
  StderrCapture log(dir_.path() + "/log");
  int fd = open_reader("gone");
  send(":gone:{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":[1000000],\"id\":1}");
  pump(30);
  close(fd);  // the next write gets EPIPE (and a SIGPIPE the server swallows)
  pump(50);
  log.restore();
  EXPECT_NE(log.text().find("writing the reply to " + path_of("gone")), std::string::npos)
      << log.text();
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, CheckRecreatesADeletedOrReplacedFifo) {
  start();
  make_fifo("r");
  struct stat before;
  ASSERT_EQ(stat(params_.fifo_name.c_str(), &before), 0);
  server_->check();  // nothing to do
  EXPECT_EQ(server_->counters().fifo_recreated, 0u);

  ASSERT_EQ(unlink(params_.fifo_name.c_str()), 0);
  server_->check();
  struct stat after;
  ASSERT_EQ(lstat(params_.fifo_name.c_str(), &after), 0);
  EXPECT_TRUE(S_ISFIFO(after.st_mode));
  EXPECT_EQ(after.st_mode & 07777, 0600u);
  EXPECT_EQ(server_->counters().fifo_recreated, 1u);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);

  // Replaced by someone else's FIFO: taken back.
  ASSERT_EQ(unlink(params_.fifo_name.c_str()), 0);
  ASSERT_EQ(mkfifo(params_.fifo_name.c_str(), 0666), 0);
  server_->check();
  EXPECT_EQ(server_->counters().fifo_recreated, 2u);
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);

  // Replaced by a regular file: left alone, and not removed on shutdown either.
  StderrCapture log(dir_.path() + "/log");
  ASSERT_EQ(unlink(params_.fifo_name.c_str()), 0);
  { std::ofstream(params_.fifo_name) << "mine"; }
  server_->check();
  log.restore();
  EXPECT_NE(log.text().find("was replaced by a regular file; not touching it"), std::string::npos)
      << log.text();
  server_.reset();
  EXPECT_TRUE(std::filesystem::is_regular_file(params_.fifo_name));
}

TEST_F(MiFifo, CheckRunsByItselfOnATimer) {
  limits_.check_interval_ms = 50;
  start();
  ASSERT_EQ(unlink(params_.fifo_name.c_str()), 0);
  pump(150);
  EXPECT_GE(server_->counters().fifo_recreated, 1u);
  struct stat st;
  EXPECT_EQ(lstat(params_.fifo_name.c_str(), &st), 0);
}

TEST_F(MiFifo, StartReplacesAStaleFifo) {
  ASSERT_EQ(mkfifo(params_.fifo_name.c_str(), 0644), 0);
  start();
  make_fifo("r");
  EXPECT_EQ(send_and_read("r", request("r", "ok")), kOkReply);
}

TEST_F(MiFifo, StartRefusals) {
  auto start_error = [&]() -> std::string {
    auto s = MiFifoServer::start(base_.get(), params_, &reg_, limits_);
    return s.ok() ? "" : s.message();
  };
  // A FIFO another process is reading is not taken over.
  ASSERT_EQ(mkfifo(params_.fifo_name.c_str(), 0600), 0);
  int reader = open(params_.fifo_name.c_str(), O_RDONLY | O_NONBLOCK);
  EXPECT_EQ(start_error(), "mi_fifo: FIFO " + params_.fifo_name +
                               " is in use by another process (is another server running?)");
  close(reader);
  unlink(params_.fifo_name.c_str());
  // Not a FIFO: never removed.
  { std::ofstream(params_.fifo_name) << "keep"; }
  EXPECT_EQ(start_error(), "mi_fifo: " + params_.fifo_name +
                               " exists and is a regular file, not a FIFO; not removing it "
                               "(remove it or choose another fifo_name)");
  EXPECT_TRUE(std::filesystem::is_regular_file(params_.fifo_name));
  unlink(params_.fifo_name.c_str());
  ASSERT_EQ(mkdir(params_.fifo_name.c_str(), 0700), 0);
  EXPECT_NE(start_error().find("exists and is a directory"), std::string::npos);
  rmdir(params_.fifo_name.c_str());
  // A missing directory.
  params_.fifo_name = dir_.path() + "/nodir/fifo";
  EXPECT_EQ(start_error(), "mi_fifo: cannot create FIFO " + params_.fifo_name + ": directory " +
                               dir_.path() + "/nodir: No such file or directory");
  // Unknown owner.
  params_.fifo_name = dir_.path() + "/fifo";
  params_.fifo_user = "no-such-user-sipsd";
  EXPECT_EQ(start_error(), "mi_fifo: fifo_user 'no-such-user-sipsd': no such user");
  params_.fifo_user = "";
  params_.fifo_group = "no-such-group-sipsd";
  EXPECT_EQ(start_error(), "mi_fifo: fifo_group 'no-such-group-sipsd': no such group");
  EXPECT_NE(access(params_.fifo_name.c_str(), F_OK), 0);  // nothing left behind
}

TEST_F(MiFifo, ChownsToTheGivenOwner) {
  // Our own ids (numeric and by name work without privileges).
  params_.fifo_user = std::to_string(getuid());
  params_.fifo_group = std::to_string(getgid());
  start();
  struct stat st;
  ASSERT_EQ(stat(params_.fifo_name.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_EQ(st.st_gid, getgid());
}

// ---- the cfg side: loadmodule "mi_fifo.so" and its modparams -------------------------------

constexpr const char* kBase =
    "route { exit; }\nloadmodule \"proto_tcp.so\"\nsocket = tcp:127.0.0.1:5060\n";

Result<Config> load(const std::string& text) {
  return load_config_text(std::string(kBase) + text, "c.cfg");
}

TEST(MiFifoConfig, LoadModuleEnablesItWithDefaults) {
  Result<Config> off = load("");
  ASSERT_TRUE(off.ok()) << off.message();
  EXPECT_FALSE(off->mi_fifo.enabled);
  Result<Config> on = load("loadmodule \"mi_fifo.so\"\n");
  ASSERT_TRUE(on.ok()) << on.message();
  EXPECT_TRUE(on->mi_fifo.enabled);
  EXPECT_EQ(on->mi_fifo.fifo_name, "/tmp/opensips_fifo");
  EXPECT_EQ(on->mi_fifo.fifo_mode, 0600);
  EXPECT_EQ(on->mi_fifo.reply_dir, "/tmp/");
  EXPECT_EQ(on->mi_fifo.fifo_user, "");
  EXPECT_EQ(on->mi_fifo.fifo_group, "");
}

TEST(MiFifoConfig, ModParams) {
  Result<Config> cfg = load(
      "loadmodule \"mi_fifo.so\"\n"
      "modparam(\"mi_fifo\", \"fifo_name\", \"/run/sipsd/sipsd_fifo\")\n"
      "modparam(\"mi_fifo\", \"fifo_mode\", 0660)\n"
      "modparam(\"mi_fifo\", \"fifo_user\", \"sipsd\")\n"
      "modparam(\"mi_fifo\", \"fifo_group\", 1001)\n"
      "modparam(\"mi_fifo\", \"reply_dir\", \"/run/sipsd/\")\n");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  EXPECT_EQ(cfg->mi_fifo.fifo_name, "/run/sipsd/sipsd_fifo");
  EXPECT_EQ(cfg->mi_fifo.fifo_mode, 0660);
  EXPECT_EQ(cfg->mi_fifo.fifo_user, "sipsd");
  EXPECT_EQ(cfg->mi_fifo.fifo_group, "1001");
  EXPECT_EQ(cfg->mi_fifo.reply_dir, "/run/sipsd/");
  EXPECT_TRUE(cfg->warnings.empty());

  Result<Config> zero =
      load("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_mode\", 0)\n");
  ASSERT_TRUE(zero.ok()) << zero.message();
  EXPECT_EQ(zero->mi_fifo.fifo_mode, 0600);
}

TEST(MiFifoConfig, WarningsAndErrors) {
  Result<Config> cfg = load(
      "loadmodule \"mi_fifo.so\"\n"
      "modparam(\"mi_fifo\", \"fifo_mode\", 0666)\n"
      "modparam(\"mi_fifo\", \"reply_dir\", \"/tmp\")\n"
      "modparam(\"mi_fifo\", \"pretty_printing\", 1)\n");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  ASSERT_EQ(cfg->warnings.size(), 3u);
  EXPECT_EQ(cfg->warnings[0],
            "c.cfg:5:34: fifo_mode 0666 lets every local user send management commands");
  EXPECT_EQ(cfg->warnings[1],
            "c.cfg:6:34: reply_dir '/tmp' does not end with '/': replies go to '/tmpNAME' (the "
            "name is appended verbatim)");
  EXPECT_EQ(cfg->warnings[2],
            "c.cfg:7:21: modparam: parameter 'pretty_printing' of module 'mi_fifo' has no "
            "effect: replies are always one line of compact JSON (opensips-cli reads one line)");

  auto first_error = [](const std::string& text) {
    Result<Config> r = load(text);
    return r.ok() ? std::string() : r.message().substr(0, r.message().find('\n'));
  };
  EXPECT_EQ(first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_mode\", 01777)\n"),
            "c.cfg:5:34: modparam: parameter 'fifo_mode' of module 'mi_fifo' must be a "
            "permission mode 0..0777 (write it in octal), got 01777");
  EXPECT_EQ(
      first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_mode\", \"0600\")\n"),
      "c.cfg:5:34: modparam: parameter 'fifo_mode' of module 'mi_fifo' expects an integer, "
      "got a string");
  EXPECT_EQ(first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_name\", \"\")\n"),
            "c.cfg:5:34: modparam: parameter 'fifo_name' of module 'mi_fifo' must not be empty");
  EXPECT_EQ(first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"reply_dir\", \"/" +
                        std::string(130, 'd') + "/\")\n"),
            "c.cfg:5:34: modparam: parameter 'reply_dir' of module 'mi_fifo' is too long (132 "
            "bytes): reply paths must be shorter than 128 bytes");
  EXPECT_EQ(first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_user\", -1)\n"),
            "c.cfg:5:34: modparam: parameter 'fifo_user' of module 'mi_fifo' must be at least "
            "0, got -1");
  EXPECT_EQ(first_error("loadmodule \"mi_fifo.so\"\nmodparam(\"mi_fifo\", \"fifo_nam\", \"x\")\n"),
            "c.cfg:5:21: parameter 'fifo_nam' not found in module 'mi_fifo' (did you mean "
            "'fifo_name'?)");
  EXPECT_EQ(first_error("modparam(\"mi_fifo\", \"fifo_name\", \"/tmp/x\")\n"),
            "c.cfg:4:10: modparam: module 'mi_fifo' is not loaded (loadmodule \"mi_fifo.so\" "
            "must come first)");
}

}  // namespace
}  // namespace sipsd
