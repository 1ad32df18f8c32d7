// The script's value types and storage (ScriptValue, AvpStore, ScriptVars) and the Script's
// accessors. Compilation is in script_compile.cc, interpretation in script_run.cc.
#include "core/cfg/script.h"

#include <charconv>

#include "core/cfg/script_node.h"

namespace sipsd {

bool ScriptValue::to_int(int64_t* out) const {
  if (kind_ == Kind::kInt) {
    *out = u_.i;
    return true;
  }
  if (kind_ != Kind::kStr) return false;
  std::string_view s = s_;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 10);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// ---- AvpStore -------------------------------------------------------------------------------

AvpStore::Entry* AvpStore::newest(int slot, int index) {
  return const_cast<Entry*>(static_cast<const AvpStore*>(this)->newest(slot, index));
}

const AvpStore::Entry* AvpStore::newest(int slot, int index) const {
  if (index < 0) {  // from the oldest: -1 is the oldest
    int skip = -index - 1;
    for (const Entry& e : entries_) {
      if (e.slot != slot || e.dead) continue;
      if (skip-- == 0) return &e;
    }
    return nullptr;
  }
  int skip = index;
  for (size_t i = entries_.size(); i-- > 0;) {
    const Entry& e = entries_[i];
    if (e.slot != slot || e.dead) continue;
    if (skip-- == 0) return &e;
  }
  return nullptr;
}

ScriptValue AvpStore::get(int slot, int index) const {
  const Entry* e = newest(slot, index);
  if (!e) return ScriptValue::null();
  if (e->is_int) return ScriptValue::of(e->num);
  return ScriptValue::of(std::string_view(bytes_).substr(e->off, e->len));
}

size_t AvpStore::count(int slot) const {
  size_t n = 0;
  for (const Entry& e : entries_) n += e.slot == slot && !e.dead;
  return n;
}

void AvpStore::add(int slot, const ScriptValue& v) {
  if (v.is_null() || v.kind() == ScriptValue::Kind::kRegex) {
    erase_newest(slot);
    return;
  }
  Entry e{slot, v.is_int(), false, v.int_value(), 0, 0};
  if (v.is_str()) {
    std::string_view s = v.str();
    const char* base = bytes_.data();
    const bool inside = s.data() >= base && s.data() + s.size() <= base + bytes_.size();
    if (!inside && dead_bytes_ > 4096 && dead_bytes_ > bytes_.size() / 2) compact();
    const size_t from = inside ? static_cast<size_t>(s.data() - base) : 0;
    e.off = static_cast<uint32_t>(bytes_.size());
    e.len = static_cast<uint32_t>(s.size());
    if (inside) {
      bytes_.reserve(bytes_.size() + s.size());  // `s` points into bytes_: copy by offset
      bytes_.append(bytes_, from, s.size());
    } else {
      bytes_.append(s);
    }
  }
  entries_.push_back(e);
  ++live_;
}

void AvpStore::set(int slot, const ScriptValue& v) {
  if (v.is_str()) {
    // The new value may be one of the old ones: add it first, then drop the others.
    add(slot, v);
    Entry* keep = &entries_.back();
    for (Entry& e : entries_) {
      if (&e != keep && e.slot == slot && !e.dead) {
        e.dead = true;
        dead_bytes_ += e.len;
        --live_;
      }
    }
    return;
  }
  erase_all(slot);
  add(slot, v);
}

void AvpStore::erase_newest(int slot) {
  Entry* e = newest(slot, 0);
  if (!e) return;
  e->dead = true;
  dead_bytes_ += e->len;
  --live_;
}

void AvpStore::erase_all(int slot) {
  for (Entry& e : entries_) {
    if (e.slot == slot && !e.dead) {
      e.dead = true;
      dead_bytes_ += e.len;
      --live_;
    }
  }
}

void AvpStore::clear() {
  entries_.clear();
  bytes_.clear();
  dead_bytes_ = 0;
  live_ = 0;
}

void AvpStore::compact() {
  std::string kept;
  kept.reserve(bytes_.size() - dead_bytes_);
  size_t out = 0;
  for (const Entry& e : entries_) {
    if (e.dead) continue;
    Entry c = e;
    if (!c.is_int) {
      kept.append(bytes_, c.off, c.len);
      c.off = static_cast<uint32_t>(kept.size() - c.len);
    }
    entries_[out++] = c;
  }
  entries_.resize(out);
  bytes_.swap(kept);
  dead_bytes_ = 0;
}

// ---- ScriptVars -----------------------------------------------------------------------------

ScriptVars::ScriptVars() : st_(std::make_unique<script::ProcessState>()) {}

ScriptVars::~ScriptVars() = default;

ScriptValue ScriptVars::get(int slot) const {
  if (slot < 0 || static_cast<size_t>(slot) >= st_->vars.size()) return ScriptValue::null();
  const script::VarSlot& s = st_->vars[static_cast<size_t>(slot)];
  if (s.kind == ScriptValue::Kind::kInt) return ScriptValue::of(s.num);
  if (s.kind == ScriptValue::Kind::kStr) return ScriptValue::of(std::string_view(s.str));
  return ScriptValue::null();
}

void ScriptVars::set(int slot, const ScriptValue& v) {
  if (slot < 0) return;
  if (static_cast<size_t>(slot) >= st_->vars.size())
    st_->vars.resize(static_cast<size_t>(slot) + 1);
  script::VarSlot& s = st_->vars[static_cast<size_t>(slot)];
  s.kind = v.kind() == ScriptValue::Kind::kRegex ? ScriptValue::Kind::kNull : v.kind();
  s.num = v.int_value();
  if (v.is_str()) {
    std::string copy(v.str());  // v may point into s.str
    s.str.swap(copy);
  }
}

void ScriptVars::clear() {
  for (script::VarSlot& s : st_->vars) {
    s.kind = ScriptValue::Kind::kNull;
    s.str.clear();
  }
}

// ---- Script ---------------------------------------------------------------------------------

Script::Script(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Script::~Script() = default;

RouteRef Script::main_route() const {
  return impl_->main < 0 ? RouteRef{} : RouteRef{RouteType::kRequest, impl_->main};
}

RouteRef Script::route(RouteType t, std::string_view name) const {
  if (t == RouteType::kRequest && (name.empty() || name == "0")) return main_route();
  const auto& refs = impl_->by_type[static_cast<size_t>(t)];
  for (size_t i = 0; i < refs.size(); ++i) {
    if (impl_->routes[static_cast<size_t>(refs[i])].name == name) {
      return RouteRef{t, static_cast<int>(i)};
    }
  }
  return RouteRef{t, -1};
}

const std::vector<TimerRoute>& Script::timer_routes() const {
  return impl_->timers;
}

size_t Script::route_count(RouteType t) const {
  return impl_->by_type[static_cast<size_t>(t)].size();
}

std::string_view Script::route_name(RouteRef r) const {
  if (!r.valid() || static_cast<size_t>(r.index) >= route_count(r.type)) return {};
  return impl_->at(r).name;
}

size_t Script::var_count() const {
  return impl_->vars.size();
}

size_t Script::avp_count() const {
  return impl_->avps.size();
}

int Script::var_slot(std::string_view name) const {
  for (size_t i = 0; i < impl_->vars.size(); ++i) {
    if (impl_->vars[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int Script::avp_slot(std::string_view name) const {
  for (size_t i = 0; i < impl_->avps.size(); ++i) {
    if (impl_->avps[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string_view Script::avp_name(int slot) const {
  if (slot < 0 || static_cast<size_t>(slot) >= impl_->avps.size()) return {};
  return impl_->avps[static_cast<size_t>(slot)];
}

std::string_view Script::flag_name(int bit) const {
  if (bit < 0 || static_cast<size_t>(bit) >= impl_->flags.size()) return {};
  return impl_->flags[static_cast<size_t>(bit)];
}

int Script::max_while_loops() const {
  return impl_->max_while_loops;
}

}  // namespace sipsd
