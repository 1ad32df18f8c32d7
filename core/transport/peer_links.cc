#include "core/transport/peer_links.h"

#include "core/base/log.h"

namespace sipsd {

namespace {

constexpr int kMaxMessagesPerEvent = 64;

}  // namespace

PeerLinks::PeerLinks(struct event_base* base, int self, PeerMessageHandler& handler,
                     size_t max_queued_bytes)
    : base_(base), self_(self), handler_(handler), max_queued_(max_queued_bytes) {}

PeerLinks::~PeerLinks() {
  for (auto& [peer, link] : links_)
    for (const std::string& m : link->queue) queued_ -= m.size();
}

void PeerLinks::attach(int peer, ipc::Channel channel) {
  if (links_.count(peer) != 0) drop(peer, "replaced by a new channel");
  auto link = std::make_unique<Link>();
  link->self = this;
  link->peer = peer;
  link->channel = std::move(channel);
  link->read_ev.reset(
      event_new(base_, link->channel.fd(), EV_READ | EV_PERSIST, on_readable, link.get()));
  link->write_ev.reset(event_new(base_, link->channel.fd(), EV_WRITE, on_writable, link.get()));
  event_add(link->read_ev.get(), nullptr);
  links_[peer] = std::move(link);
}

void PeerLinks::drop(int peer, const char* why) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  size_t lost = it->second->queue.size();
  for (const std::string& m : it->second->queue) queued_ -= m.size();
  LOG_DBG("core", "worker %d: channel to worker %d closed (%s); %zu queued messages dropped", self_,
          peer, why, lost);
  links_.erase(it);
}

bool PeerLinks::send(int peer, const ipc::Envelope& env) {
  auto it = links_.find(peer);
  if (it == links_.end()) return false;
  Link& link = *it->second;
  if (link.queue.empty()) {
    std::string err;
    switch (link.channel.send(env, -1, &err)) {
      case ipc::IoStatus::kOk:
        return true;
      case ipc::IoStatus::kAgain:
        break;  // queue it below
      case ipc::IoStatus::kClosed:
        drop(peer, "peer gone");
        return false;
      case ipc::IoStatus::kError:
        LOG_ERR("core", "worker %d: cannot send to worker %d: %s", self_, peer, err.c_str());
        return false;
    }
  }
  size_t size = env.ByteSizeLong();
  if (queued_ + size > max_queued_) return false;
  std::string bytes;
  if (!env.SerializeToString(&bytes)) return false;
  queued_ += bytes.size();
  link.queue.push_back(std::move(bytes));
  event_add(link.write_ev.get(), nullptr);
  return true;
}

void PeerLinks::flush(Link& link) {
  while (!link.queue.empty()) {
    std::string err;
    ipc::IoStatus st = link.channel.send_serialized(link.queue.front(), &err);
    if (st == ipc::IoStatus::kAgain) {
      event_add(link.write_ev.get(), nullptr);
      return;
    }
    if (st == ipc::IoStatus::kClosed) {
      drop(link.peer, "peer gone");
      return;
    }
    if (st == ipc::IoStatus::kError)
      LOG_ERR("core", "worker %d: cannot send to worker %d: %s", self_, link.peer, err.c_str());
    queued_ -= link.queue.front().size();
    link.queue.pop_front();
  }
}

void PeerLinks::on_writable(evutil_socket_t, short, void* arg) {
  auto* link = static_cast<Link*>(arg);
  link->self->flush(*link);
}

void PeerLinks::on_readable(evutil_socket_t, short, void* arg) {
  auto* link = static_cast<Link*>(arg);
  PeerLinks* self = link->self;
  const int peer = link->peer;
  OutputBatch::Scope batch(self->batch_);
  for (int n = 0; n < kMaxMessagesPerEvent; ++n) {
    ipc::Envelope env;
    UniqueFd fd;
    std::string err;
    ipc::IoStatus st = link->channel.recv(&env, &fd, &err);
    if (st == ipc::IoStatus::kAgain) return;
    if (st == ipc::IoStatus::kClosed) {
      self->drop(peer, "peer gone");  // destroys *link
      return;
    }
    if (st == ipc::IoStatus::kError) {
      LOG_ERR("core", "worker %d: bad message from worker %d: %s", self->self_, peer, err.c_str());
      continue;
    }
    if (fd) {  // only the supervisor passes descriptors
      LOG_ERR("core", "worker %d: worker %d sent a descriptor; ignored", self->self_, peer);
      continue;
    }
    self->handler_.on_peer_message(peer, env);
    // The handler may have replaced or dropped this link.
    auto it = self->links_.find(peer);
    if (it == self->links_.end() || it->second.get() != link) return;
  }
}

}  // namespace sipsd
