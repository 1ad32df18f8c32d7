// StreamConn on a real event loop over a socketpair whose buffers are made small, so that the
// paths a loopback TCP connection rarely takes are taken every time: writes the socket does not
// accept at once, the flush when it drains, the cap on what a peer that never reads may cost,
// and the timers.
#include "proto_tls/stream_conn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/base/event_ptr.h"
#include "proto_tls/tcp_io.h"

namespace sipsd {
namespace {

class Owner final : public StreamConnOwner {
 public:
  void on_message(StreamConn& conn, char* data, size_t len) override {
    messages.emplace_back(data, len);
    if (!reply.empty()) conn.send(reply);
  }
  void on_closed(StreamConn& conn) override { closed = true; }

  std::string reply;
  std::vector<std::string> messages;
  bool closed = false;
};

class StreamConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_.reset(event_base_new());
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    server_fd_ = sv[0];
    peer_.reset(sv[1]);
    for (auto& s : slots_) new (&s) ConnSlot();
    scratch_.buf.resize(64 * 1024 + 1024);
  }

  std::unique_ptr<StreamConn> make(const StreamConnParams& params, OutputBatch* batch = nullptr) {
    ConnEndpoints ends;
    ends.id = 7;
    ends.slot = 0;
    ends.proto = Proto::kTcp;
    ends.remote_ip = "127.0.0.1";
    ends.remote_port = 40000;
    StreamConnContext ctx{base_.get(), &owner_,     &scratch_, ConnTable(slots_, 4),
                          1,           ConnIndex(), batch};
    auto conn = std::make_unique<StreamConn>(
        ctx, UniqueFd(server_fd_), std::make_unique<TcpIo>(server_fd_), ends, params, nullptr);
    EXPECT_TRUE(conn->start().ok());
    return conn;
  }

  // Runs the loop until pred() or the time limit.
  template <class Pred>
  bool spin(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      struct timeval tv = {0, 5000};
      event_base_loopexit(base_.get(), &tv);
      event_base_dispatch(base_.get());
    }
    return true;
  }

  void peer_write(const std::string& s) {
    ASSERT_EQ(write(peer_.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

  // Reads whatever the peer socket has, without blocking.
  std::string peer_drain() {
    std::string got;
    char buf[65536];
    for (;;) {
      struct pollfd p = {peer_.get(), POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) break;
      ssize_t n = read(peer_.get(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  EventBasePtr base_;
  int server_fd_ = -1;
  UniqueFd peer_;
  ConnSlot slots_[4];
  ReadScratch scratch_;
  Owner owner_;
};

const std::string kRequest =
    "MESSAGE sip:a SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhi";

TEST_F(StreamConnTest, ReplyLargerThanTheSocketBufferIsQueuedAndFlushed) {
  StreamConnParams params;
  owner_.reply = std::string(300000, 'r');
  auto conn = make(params);
  peer_write(kRequest);
  ASSERT_TRUE(spin([&] { return !owner_.messages.empty(); }));
  EXPECT_EQ(owner_.messages[0], kRequest);
  // The socket took only part of it; the rest waits in the connection.
  EXPECT_GT(conn->queued_bytes(), 0u);
  EXPECT_LT(conn->queued_bytes(), owner_.reply.size());
  // As the peer reads, the connection finishes the write by itself.
  std::string got;
  ASSERT_TRUE(spin([&] {
    got += peer_drain();
    return got.size() >= owner_.reply.size();
  }));
  EXPECT_EQ(got, owner_.reply);
  EXPECT_EQ(conn->queued_bytes(), 0u);
  EXPECT_FALSE(owner_.closed);
}

TEST_F(StreamConnTest, SendsWhileTheBatchIsOpenLeaveTogetherWhenItCloses) {
  StreamConnParams params;
  OutputBatch batch;
  auto conn = make(params, &batch);
  {
    OutputBatch::Scope scope(&batch);
    {
      OutputBatch::Scope nested(&batch);  // only the outermost scope flushes
      conn->send("one;");
    }
    conn->send("two;");
    EXPECT_EQ(peer_drain(), "");
    EXPECT_EQ(conn->queued_bytes(), 8u);
  }
  EXPECT_EQ(conn->queued_bytes(), 0u);
  EXPECT_EQ(peer_drain(), "one;two;");
  conn->send("alone");  // no batch open: written at once
  EXPECT_EQ(peer_drain(), "alone");
}

TEST_F(StreamConnTest, RepliesToOneReadAreWrittenWhenTheReadEventEnds) {
  StreamConnParams params;
  OutputBatch batch;
  owner_.reply = "ok;";
  auto conn = make(params, &batch);
  peer_write(kRequest + kRequest + kRequest);
  ASSERT_TRUE(spin([&] { return owner_.messages.size() == 3; }));
  EXPECT_FALSE(batch.open());
  EXPECT_EQ(peer_drain(), "ok;ok;ok;");
}

TEST_F(StreamConnTest, ALargeBatchIsWrittenAsItGrows) {
  StreamConnParams params;
  OutputBatch batch;
  auto conn = make(params, &batch);
  const std::string piece(1000, 'x');
  std::string got;
  {
    OutputBatch::Scope scope(&batch);
    for (int i = 0; i < 200; ++i) conn->send(piece);
    got = peer_drain();
    EXPECT_FALSE(got.empty());  // written before the batch ended
    EXPECT_FALSE(owner_.closed);
  }
  ASSERT_TRUE(spin([&] {
    got += peer_drain();
    return got.size() >= 200 * piece.size();
  }));
  EXPECT_EQ(got.size(), 200 * piece.size());
  EXPECT_FALSE(owner_.closed);
}

TEST_F(StreamConnTest, ACloseInsideTheBatchStillSendsWhatWasAnswered) {
  StreamConnParams params;
  OutputBatch batch;
  auto conn = make(params, &batch);
  {
    OutputBatch::Scope scope(&batch);
    conn->send("SIP/2.0 400 Bad Request\r\n\r\n");
    conn->close("test", LogLevel::kDebug);
  }
  EXPECT_TRUE(owner_.closed);
  EXPECT_EQ(peer_drain(), "SIP/2.0 400 Bad Request\r\n\r\n");
}

TEST_F(StreamConnTest, OrderIsKeptWhileAWriteIsPending) {
  StreamConnParams params;
  owner_.reply = std::string(100000, 'a');
  auto conn = make(params);
  peer_write(kRequest);
  ASSERT_TRUE(spin([&] { return conn->queued_bytes() > 0; }));
  conn->send("tail");  // must come after the pending bytes, never before
  std::string got;
  ASSERT_TRUE(spin([&] {
    got += peer_drain();
    return got.size() >= owner_.reply.size() + 4;
  }));
  EXPECT_EQ(got, owner_.reply + "tail");
}

TEST_F(StreamConnTest, PeerThatNeverReadsIsCutOffAtTheCap) {
  StreamConnParams params;
  params.max_output_bytes = 64 * 1024;
  owner_.reply = std::string(20000, 'x');
  auto conn = make(params);
  std::string many;
  for (int i = 0; i < 10; ++i) many += kRequest;
  peer_write(many);
  ASSERT_TRUE(spin([&] { return owner_.closed; }));
  EXPECT_TRUE(conn->closed());
  EXPECT_LT(owner_.messages.size(), 10u);  // cut off before answering them all
  // The slot was given back.
  EXPECT_EQ(ConnTable(slots_, 4).count_in_use(), 0u);
}

TEST_F(StreamConnTest, IdleConnectionClosesAfterItsLifetime) {
  StreamConnParams params;
  params.lifetime_ms = 100;
  auto conn = make(params);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(spin([&] { return owner_.closed; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
  char c;
  EXPECT_EQ(read(peer_.get(), &c, 1), 0);  // the peer sees the close
}

TEST_F(StreamConnTest, TrafficKeepsAConnectionAlive) {
  StreamConnParams params;
  params.lifetime_ms = 300;
  auto conn = make(params);
  for (int i = 0; i < 6; ++i) {
    peer_write("\r\n\r\n");  // a ping every 100 ms refreshes the lifetime
    ASSERT_FALSE(spin([&] { return owner_.closed; }, std::chrono::milliseconds(100)));
  }
  EXPECT_EQ(peer_drain(), "\r\n\r\n\r\n\r\n\r\n\r\n");  // six pongs
  ASSERT_TRUE(spin([&] { return owner_.closed; }));
}

TEST_F(StreamConnTest, IncompleteMessageTimesOut) {
  StreamConnParams params;
  params.msg_timeout_ms = 100;
  auto conn = make(params);
  peer_write(kRequest.substr(0, 10));
  ASSERT_TRUE(spin([&] { return owner_.closed; }, std::chrono::milliseconds(1000)));
  EXPECT_TRUE(owner_.messages.empty());
}

TEST_F(StreamConnTest, FramingErrorClosesAndNothingIsDelivered) {
  StreamConnParams params;
  auto conn = make(params);
  peer_write("OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n");  // no Content-Length
  ASSERT_TRUE(spin([&] { return owner_.closed; }));
  EXPECT_TRUE(owner_.messages.empty());
}

}  // namespace
}  // namespace sipsd
