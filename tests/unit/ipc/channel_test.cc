#include "ipc/channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

namespace sipsd::ipc {
namespace {

Envelope handoff(uint32_t id) {
  Envelope env;
  ConnHandoff* h = env.mutable_conn_handoff();
  h->set_conn_id(id);
  h->set_transport(TRANSPORT_TLS);
  h->mutable_remote()->set_ip("127.0.0.1");
  h->mutable_remote()->set_port(40312);
  return env;
}

// The real use: a forked child receives a socket over the channel and uses it.
TEST(Channel, PassesAnFdToAnotherProcess) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok()) << pair.message();
  Channel parent = std::move(pair->first);
  Channel child = std::move(pair->second);

  int data[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, data), 0);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    parent.close();
    ::close(data[0]);
    ::close(data[1]);
    Envelope env;
    UniqueFd fd;
    if (child.recv_wait(&env, &fd, 5000) != IoStatus::kOk) _exit(2);
    if (env.conn_handoff().conn_id() != 77 || !fd.valid()) _exit(3);
    const char msg[] = "hello from child";
    if (write(fd.get(), msg, sizeof msg - 1) != static_cast<ssize_t>(sizeof msg - 1)) _exit(4);
    _exit(0);
  }
  child.close();
  ASSERT_EQ(parent.send(handoff(77), data[1]), IoStatus::kOk);
  ::close(data[1]);  // the child now holds the only other copy
  char buf[64] = {};
  ssize_t n = read(data[0], buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "hello from child");
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::close(data[0]);
}

TEST(Channel, RoundTripWithoutFd) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  Envelope ready;
  ready.mutable_worker_ready()->set_pid(1234);
  ASSERT_EQ(pair->first.send(ready), IoStatus::kOk);
  Envelope got;
  UniqueFd fd;
  ASSERT_EQ(pair->second.recv(&got, &fd), IoStatus::kOk);
  EXPECT_EQ(got.worker_ready().pid(), 1234);
  EXPECT_FALSE(fd.valid());
  // Nothing more queued.
  EXPECT_EQ(pair->second.recv(&got, &fd), IoStatus::kAgain);
}

TEST(Channel, RefusesKindAndFdMismatchWhenSending) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  Envelope ready;
  ready.mutable_worker_ready()->set_pid(1);
  EXPECT_EQ(pair->first.send(ready, STDIN_FILENO), IoStatus::kError);
  EXPECT_EQ(pair->first.send(handoff(1)), IoStatus::kError);
}

// A peer that attaches an fd to a kind that must not carry one: the message is refused and
// the fd is closed, not leaked.
TEST(Channel, ClosesAnFdThatArrivesOnTheWrongKind) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  Envelope ready;
  ready.mutable_worker_ready()->set_pid(1);
  std::string bytes = ready.SerializeAsString();

  int probe[2];
  ASSERT_EQ(pipe(probe), 0);
  struct iovec iov = {bytes.data(), bytes.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &probe[1], sizeof(int));
  ASSERT_EQ(sendmsg(pair->first.fd(), &msg, 0), static_cast<ssize_t>(bytes.size()));
  ::close(probe[1]);  // the only write end left is the one in flight

  Envelope got;
  UniqueFd fd;
  std::string error;
  EXPECT_EQ(pair->second.recv(&got, &fd, &error), IoStatus::kError);
  EXPECT_NE(error.find("fd on an envelope kind"), std::string::npos) << error;
  EXPECT_FALSE(fd.valid());
  // Every write end is closed now, so the read end sees EOF at once.
  char c;
  EXPECT_EQ(read(probe[0], &c, 1), 0);
  ::close(probe[0]);
}

TEST(Channel, ReportsPeerClose) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  pair->first.close();
  Envelope got;
  UniqueFd fd;
  EXPECT_EQ(pair->second.recv(&got, &fd), IoStatus::kClosed);
}

TEST(Channel, RejectsGarbage) {
  auto pair = Channel::make_pair();
  ASSERT_TRUE(pair.ok());
  const char junk[] = "\xff\xff\xff\xff\xff\xff";
  ASSERT_GT(send(pair->first.fd(), junk, sizeof junk, 0), 0);
  Envelope got;
  UniqueFd fd;
  EXPECT_EQ(pair->second.recv(&got, &fd), IoStatus::kError);
}

}  // namespace
}  // namespace sipsd::ipc
