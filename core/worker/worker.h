// A worker process: TCP workers receive accepted connections from the supervisor over their
// channel and own them until they close; UDP workers read their socket of each UDP listener. Both
// kinds run the same loop: handshakes, framing, the route script, replies and forwarding, and
// both may open outbound connections and talk to the other workers over peer channels (a message
// for a connection or a transaction another worker owns goes to that worker). A worker builds its
// own SSL_CTXs from the TLS snapshot in shared memory.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/auth/auth_params.h"
#include "core/auth/auth_shared.h"
#include "core/base/process_context.h"
#include "core/base/transport.h"
#include "core/base/unique_fd.h"
#include "core/cfg/config.h"
#include "core/shm/shm_region.h"
#include "ipc/channel.h"

namespace sipsd {

// A listener as bound (the real port when the cfg asked for port 0).
struct ListenerAddr {
  Proto proto = Proto::kTcp;
  std::string ip;
  uint16_t port = 0;
  std::string adv_ip;  // advertised (socket `as`); "" / 0 = none
  uint16_t adv_port = 0;
};

// One socket of a UDP listener's group.
struct UdpSocketSetup {
  UniqueFd fd;
  int listener = 0;   // index into WorkerSetup::listeners
  bool read = false;  // a UDP worker reads it; other workers only send from it
};

struct WorkerSetup {
  const Config* config = nullptr;
  ShmRegion* shm = nullptr;
  int proc_index = 0;  // 1..workers (TCP workers first, then UDP workers)
  ProcessRole role = ProcessRole::kTcpWorker;
  pid_t supervisor_pid = 0;
  ipc::Channel channel;  // this worker's end of its supervisor channel
  // Channels to the workers that were running when this one started, by process index.
  std::vector<std::pair<int, ipc::Channel>> peers;
  std::vector<ListenerAddr> listeners;  // every listener, in cfg order
  std::vector<UdpSocketSetup> udp;
  // auth/auth_db: the shared nonce index and subscriber cache (null: neither module loaded).
  auth::AuthShared* auth_shared = nullptr;
  const auth::AuthParams* auth_params = nullptr;
  std::string flow_token_key;  // RFC 5626 flow tokens (path, rr): the supervisor's random key
};

// Runs in a freshly forked child; returns the process exit status.
int run_worker(WorkerSetup setup);

}  // namespace sipsd
