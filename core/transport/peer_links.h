// PeerLinks: a worker's channels to the other workers (made by the supervisor, one
// SOCK_SEQPACKET pair per pair of workers). A message for a connection or a transaction another
// worker owns goes over them: SendOnConn (write these bytes on your connection) and
// RelayedMessage (this SIP message is yours). Sending never blocks: what the peer's queue does
// not take now waits in a bounded per-link queue, written when the channel is writable; over the
// bound, messages are dropped with a counter and a log line (the same fate as a datagram).
#pragma once

#include <event2/event.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "core/base/event_ptr.h"
#include "ipc/channel.h"
#include "proto_tls/output_batch.h"

namespace sipsd {

class PeerMessageHandler {
 public:
  virtual ~PeerMessageHandler() = default;
  // One message from worker `from` (process index); `env` may be moved from.
  virtual void on_peer_message(int from, ipc::Envelope& env) = 0;
};

class PeerLinks {
 public:
  static constexpr size_t kDefaultMaxQueued = 8u << 20;

  PeerLinks(struct event_base* base, int self, PeerMessageHandler& handler,
            size_t max_queued_bytes = kDefaultMaxQueued);
  ~PeerLinks();
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  // A channel to worker `peer`, replacing any older one (the peer was restarted).
  void attach(int peer, ipc::Channel channel);
  bool linked(int peer) const { return links_.count(peer) != 0; }
  // Sends (or queues) one message to worker `peer`. False when there is no link to it or its
  // queue is over the bound; the caller decides what to say.
  bool send(int peer, const ipc::Envelope& env);
  size_t queued_bytes() const { return queued_; }
  // Stream output made while handling the messages of one read leaves together.
  void set_output_batch(OutputBatch* batch) { batch_ = batch; }

 private:
  struct Link {
    PeerLinks* self = nullptr;
    int peer = 0;
    ipc::Channel channel;
    EventPtr read_ev;
    EventPtr write_ev;
    std::deque<std::string> queue;
  };

  static void on_readable(evutil_socket_t, short, void* arg);
  static void on_writable(evutil_socket_t, short, void* arg);
  void flush(Link& link);
  void drop(int peer, const char* why);

  struct event_base* base_;
  int self_;
  PeerMessageHandler& handler_;
  size_t max_queued_;
  size_t queued_ = 0;
  OutputBatch* batch_ = nullptr;
  std::map<int, std::unique_ptr<Link>> links_;
};

}  // namespace sipsd
