#include "core/supervisor/auth_service.h"

#include "core/base/log.h"

namespace sipsd {

Result<std::unique_ptr<AuthService>> AuthService::create(const Config& cfg) {
  if (!cfg.has_module("auth") && !cfg.has_module("auth_db")) return std::unique_ptr<AuthService>();
  auto params = auth::auth_params(cfg);
  if (!params.ok()) return params.error();
  auto s = std::make_unique<AuthService>();
  s->params_ = std::move(params).value();
  auth::AuthShared::Layout layout;
  layout.nonce_slots = static_cast<uint32_t>(s->params_.nonce_index_size);
  layout.cache_size = static_cast<uint32_t>(s->params_.cache_size);
  auto shared = auth::AuthShared::create(layout, s->params_.secret);
  if (!shared.ok()) return shared.error();
  s->shared_ = std::move(shared).value();
  if (s->params_.auth_db_loaded) {
    auto loader = auth::SubscriberLoader::open(s->params_, s->shared_.get());
    if (!loader.ok()) return loader.error();
    s->loader_ = std::move(loader).value();
    auto n = s->loader_->load();
    if (!n.ok()) return n.error();
    LOG_INFO("auth_db", "%u subscribers cached from %s", *n, s->params_.db_url.c_str());
  }
  return s;
}

void AuthService::start_timer(event_base* base) {
  if (!loader_) return;
  refresh_ev_.reset(event_new(base, -1, EV_PERSIST, on_refresh, this));
  struct timeval tv = {params_.cache_refresh, 0};
  event_add(refresh_ev_.get(), &tv);
}

void AuthService::on_refresh(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<AuthService*>(arg);
  auto r = s->loader_->refresh_if_changed();
  if (!r.ok()) {
    LOG_ERR("auth_db", "subscriber refresh failed (the cache keeps the previous rows): %s",
            r.message().c_str());
  } else if (*r >= 0) {
    LOG_INFO("auth_db", "%lld subscribers cached (the database changed)",
             static_cast<long long>(*r));
  }
}

Result<uint32_t> AuthService::reload() {
  if (!loader_) return make_error("auth_db is not loaded");
  return loader_->load();
}

void AuthService::add_mi_commands(MiRegistry* registry) {
  if (!loader_) return;
  MiCommand c;
  c.name = "auth_reload";
  c.help = "reloads the subscriber cache from the database now";
  c.module = "auth_db";
  c.handler = [this](const MiParams&) -> MiResult {
    auto n = reload();
    if (!n.ok()) return mi_error(500, n.message());
    Json out = Json::object();
    out.add("Subscribers", Json(static_cast<int64_t>(*n)));
    return out;
  };
  registry->add(std::move(c));
}

}  // namespace sipsd
