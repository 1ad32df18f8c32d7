// AuthService: the supervisor's side of auth/auth_db. It makes the shared nonce index and
// subscriber cache before the workers fork, loads the subscribers from SQLite, checks the
// database for changes every cache_refresh seconds (reloading only when it changed), and
// serves MI auth_reload. The workers only ever read the cache.
#pragma once

#include <event2/event.h>

#include <memory>

#include "core/auth/auth_params.h"
#include "core/auth/auth_shared.h"
#include "core/auth/subscriber_loader.h"
#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "core/cfg/config.h"
#include "core/mi/command.h"

namespace sipsd {

class AuthService {
 public:
  // Null when neither auth nor auth_db is loaded.
  static Result<std::unique_ptr<AuthService>> create(const Config& cfg);

  auth::AuthShared* shared() const { return shared_.get(); }
  const auth::AuthParams* params() const { return &params_; }
  void start_timer(event_base* base);
  void add_mi_commands(MiRegistry* registry);
  // Reloads at once (MI auth_reload).
  Result<uint32_t> reload();

 private:
  static void on_refresh(evutil_socket_t, short, void* arg);

  auth::AuthParams params_;
  std::unique_ptr<auth::AuthShared> shared_;
  std::unique_ptr<auth::SubscriberLoader> loader_;  // null without auth_db
  EventPtr refresh_ev_;
};

}  // namespace sipsd
