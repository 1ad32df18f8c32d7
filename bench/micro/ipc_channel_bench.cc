// IPC channel (ipc/channel.h): round trips of one Envelope over a SOCK_SEQPACKET socketpair to
// an echo thread in the same process, without and with a file descriptor (SCM_RIGHTS), and with
// a whole INVITE inside (SendOnConn: what a worker sends to the worker that owns the connection
// a message must leave on; RelayedMessage costs the same, with two addresses more). One way of
// that round trip is the price of relaying a message between workers.
//
// Each iteration: send, the echo thread wakes (poll), receives, sends the same Envelope back
// (with the fd it received, when there is one), and this thread receives it. With an fd, each
// direction installs a new descriptor in the receiver and closes it after use, as the
// supervisor → worker ConnHandoff does. The figures include two thread wake-ups per round trip.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <thread>

#include "bench/micro/sample_messages.h"
#include "core/base/unique_fd.h"
#include "ipc/channel.h"

namespace sipsd::bench {
namespace {

// How long either side waits for the other before giving up. The echo thread also stops when
// the channel closes.
constexpr int kWaitMs = 5000;

// Echoes every Envelope (and its fd) back until the channel closes, an error occurs or nothing
// arrives for kWaitMs.
void echo_loop(ipc::Channel ch) {
  ipc::Envelope env;
  for (;;) {  // bounded: every turn waits at most kWaitMs, and the peer closes at the end
    UniqueFd fd;
    if (ch.recv_wait(&env, &fd, kWaitMs) != ipc::IoStatus::kOk) return;
    if (ch.send(env, fd.get()) != ipc::IoStatus::kOk) return;
  }
}

ipc::Envelope conn_handoff() {
  ipc::Envelope env;
  ipc::ConnHandoff* h = env.mutable_conn_handoff();
  h->set_conn_id(123456);
  h->set_conn_slot(42);
  h->set_transport(ipc::TRANSPORT_TLS);
  h->set_listener_index(0);
  h->mutable_local()->set_ip("192.0.2.1");
  h->mutable_local()->set_port(5061);
  h->mutable_remote()->set_ip("198.51.100.7");
  h->mutable_remote()->set_port(40312);
  h->set_accepted_at_ms(1700000000123);
  return env;
}

ipc::Envelope close_conn() {
  ipc::Envelope env;
  env.mutable_close_conn()->set_conn_id(123456);
  return env;
}

ipc::Envelope send_on_conn_invite() {
  ipc::Envelope env;
  ipc::SendOnConn* s = env.mutable_send_on_conn();
  s->set_conn_id(123456);
  s->set_from(3);
  s->set_data(std::string(kInvite));
  return env;
}

enum class Kind { kCloseConn, kHandoffWithFd, kSendOnConnInvite };

// kHandoffWithFd: ConnHandoff plus one end of a stream socketpair (what the supervisor hands
// over); the others carry no fd.
void BM_Channel_RoundTrip(benchmark::State& state, Kind kind) {
  const bool with_fd = kind == Kind::kHandoffWithFd;
  auto pair = ipc::Channel::make_pair();
  if (!pair.ok()) {
    state.SkipWithError(pair.message().c_str());
    return;
  }
  ipc::Channel ch = std::move(pair->first);
  int conn[2];
  if (with_fd && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, conn) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  UniqueFd conn_a(with_fd ? conn[0] : -1), conn_b(with_fd ? conn[1] : -1);
  const ipc::Envelope out = kind == Kind::kHandoffWithFd      ? conn_handoff()
                            : kind == Kind::kSendOnConnInvite ? send_on_conn_invite()
                                                              : close_conn();
  const int pass_fd = with_fd ? conn_a.get() : -1;

  std::thread echo(echo_loop, std::move(pair->second));
  ipc::Envelope in;
  std::string error;
  for (auto _ : state) {
    UniqueFd got;  // closed at the end of the iteration
    if (ch.send(out, pass_fd, &error) != ipc::IoStatus::kOk ||
        ch.recv_wait(&in, &got, kWaitMs, &error) != ipc::IoStatus::kOk || got.valid() != with_fd) {
      state.SkipWithError(("round trip failed: " + error).c_str());
      break;
    }
    benchmark::DoNotOptimize(in.body_case());
  }
  ch.close();  // the echo thread sees kClosed and returns
  echo.join();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(out.ByteSizeLong()) + " B envelope");
}
BENCHMARK_CAPTURE(BM_Channel_RoundTrip, CloseConn_NoFd, Kind::kCloseConn)->UseRealTime();
BENCHMARK_CAPTURE(BM_Channel_RoundTrip, ConnHandoff_WithFd, Kind::kHandoffWithFd)->UseRealTime();
BENCHMARK_CAPTURE(BM_Channel_RoundTrip, SendOnConn_Invite, Kind::kSendOnConnInvite)->UseRealTime();

}  // namespace
}  // namespace sipsd::bench
