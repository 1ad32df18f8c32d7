#include "core/usrloc/location_table.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include "core/base/log.h"
#include "core/shm/hash_words.h"
#include "core/shm/stats.h"

namespace sipsd::ul {

namespace {

constexpr size_t align_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}
constexpr size_t kAlign = 64;

size_t buckets_off() {
  return align_up(sizeof(UlHeader), kAlign);
}
size_t slots_off(uint32_t hash_bits) {
  return align_up(buckets_off() + (size_t{1} << hash_bits) * sizeof(UlBucket), kAlign);
}

uint64_t aor_hash(std::string_view aor) {
  return hash_bytes(aor.data(), aor.size());
}

template <size_t N>
void put(char (&dst)[N], std::string_view src) {
  const size_t n = std::min(src.size(), N - 1);
  memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

Status init_mutex(pthread_mutex_t* m) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  if (rc != 0) return make_error(strprintf("usrloc: cannot make a shared lock: %s", strerror(rc)));
  return Status::Ok();
}

void lock_mutex(pthread_mutex_t* m) {
  int rc = pthread_mutex_lock(m);
  if (rc == EOWNERDEAD) {
    // A process died holding it; links are written last, so the chain is usable.
    LOG_WARN("usrloc", "a process died holding a location table lock; recovered it");
    pthread_mutex_consistent(m);
  }
}

Contact to_contact(const UlRecord& r, uint32_t index1) {
  Contact c;
  c.aor = r.aor;
  c.uri = r.uri;
  c.received = r.received;
  c.path = r.path;
  c.callid = r.callid;
  c.user_agent = r.user_agent;
  c.instance = r.instance;
  c.socket = r.socket;
  c.src_ip = r.src_ip;
  c.expires = r.expires;
  c.last_modified = r.last_modified;
  c.contact_id = r.contact_id;
  c.q = r.q;
  c.cseq = r.cseq;
  c.flags = r.flags;
  c.cflags = r.cflags;
  c.methods = r.methods;
  c.reg_id = r.reg_id;
  c.conn_id = r.conn_id;
  c.conn_slot = r.conn_slot;
  c.src_port = r.src_port;
  c.proto = static_cast<Proto>(r.proto);
  c.conn_bound = r.conn_bound != 0;
  c.state = static_cast<ContactState>(r.state);
  c.slot = index1;
  return c;
}

void to_record(const Contact& c, UlRecord* r) {
  put(r->aor, c.aor);
  put(r->uri, c.uri);
  put(r->received, c.received);
  put(r->path, c.path);
  put(r->callid, c.callid);
  put(r->user_agent, c.user_agent);
  put(r->instance, c.instance);
  put(r->socket, c.socket);
  put(r->src_ip, c.src_ip);
  r->expires = c.expires;
  r->last_modified = c.last_modified;
  r->contact_id = c.contact_id;
  r->q = c.q;
  r->cseq = c.cseq;
  r->flags = c.flags;
  r->cflags = c.cflags;
  r->methods = c.methods;
  r->reg_id = c.reg_id;
  r->conn_id = c.conn_id;
  r->conn_slot = c.conn_slot;
  r->src_port = c.src_port;
  r->proto = static_cast<uint8_t>(c.proto);
  r->conn_bound = c.conn_bound ? 1 : 0;
  r->state = static_cast<uint8_t>(c.state);
}

}  // namespace

const char* contact_state_name(ContactState s) {
  switch (s) {
    case ContactState::kNew:
      return "CS_NEW";
    case ContactState::kSync:
      return "CS_SYNC";
    case ContactState::kDirty:
      return "CS_DIRTY";
  }
  return "CS_NEW";
}

int64_t Contact::seconds_left(int64_t now) const {
  if (expires == 0) return INT64_MAX;
  return expires > now ? expires - now : 0;
}

bool contact_before(const Contact& a, const Contact& b) {
  if (a.q != b.q) return a.q > b.q;  // kQUnspecified (-1) sorts after any explicit q
  if (a.last_modified != b.last_modified) return a.last_modified < b.last_modified;
  return a.contact_id < b.contact_id;
}

// ---- the table ----------------------------------------------------------------------------

class LocationTable::BucketLock {
 public:
  explicit BucketLock(UlBucket& b) : b_(b) { lock_mutex(&b_.lock); }
  ~BucketLock() { pthread_mutex_unlock(&b_.lock); }
  BucketLock(const BucketLock&) = delete;
  BucketLock& operator=(const BucketLock&) = delete;

 private:
  UlBucket& b_;
};

size_t LocationTable::bytes_for(uint32_t capacity, uint32_t hash_bits) {
  return slots_off(hash_bits) + size_t{capacity} * sizeof(UlSlot);
}

LocationTable::LocationTable(char* base)
    : h_(reinterpret_cast<UlHeader*>(base)),
      buckets_(reinterpret_cast<UlBucket*>(base + buckets_off())),
      slots_(reinterpret_cast<UlSlot*>(base + slots_off(h_->hash_bits))) {}

Result<LocationTable> LocationTable::init(void* area, size_t size, uint32_t capacity,
                                          uint32_t hash_bits) {
  if (area == nullptr || hash_bits > 20 || capacity == 0 || size < bytes_for(capacity, hash_bits))
    return make_error("usrloc: the location table does not fit its shared-memory area");
  char* base = static_cast<char*>(area);
  auto* h = new (base) UlHeader;
  memcpy(h->magic, kUlMagic, sizeof h->magic);
  h->layout_version = kUlLayoutVersion;
  h->capacity = capacity;
  h->hash_bits = hash_bits;
  h->slot_size = sizeof(UlSlot);
  h->free_head = 0;
  h->never_used = 0;
  h->next_contact_id.store(1, std::memory_order_relaxed);
  h->contacts.store(0, std::memory_order_relaxed);
  h->aors.store(0, std::memory_order_relaxed);
  h->changes.store(0, std::memory_order_relaxed);
  h->synced.store(0, std::memory_order_relaxed);
  Status st = init_mutex(&h->alloc_lock);
  if (!st.ok()) return make_error(st.message());
  LocationTable t(base);
  for (uint32_t i = 0; i < (1u << hash_bits); ++i) {
    auto* b = new (&t.buckets_[i]) UlBucket;
    b->head = 0;
    st = init_mutex(&b->lock);
    if (!st.ok()) return make_error(st.message());
  }
  // Slots stay as the zero-filled mapping made them (untouched pages cost no memory).
  return t;
}

Result<LocationTable> LocationTable::attach(void* area, size_t size) {
  if (area == nullptr || size < sizeof(UlHeader)) return make_error("usrloc: no location table");
  auto* h = static_cast<UlHeader*>(area);
  if (memcmp(h->magic, kUlMagic, sizeof h->magic) != 0 || h->layout_version != kUlLayoutVersion ||
      h->slot_size != sizeof(UlSlot) || size < bytes_for(h->capacity, h->hash_bits))
    return make_error("usrloc: the location table's layout differs from this binary's");
  return LocationTable(static_cast<char*>(area));
}

UlBucket& LocationTable::bucket(uint64_t hash) const {
  return buckets_[hash & ((uint64_t{1} << h_->hash_bits) - 1)];
}

UlSlot& LocationTable::slot(uint32_t index1) const {
  return slots_[index1 - 1];
}

uint32_t LocationTable::alloc_slot() {
  lock_mutex(&h_->alloc_lock);
  uint32_t i = 0;
  if (h_->free_head != 0) {
    i = h_->free_head;
    h_->free_head = slot(i).next;
  } else if (h_->never_used < h_->capacity) {
    i = ++h_->never_used;
  }
  pthread_mutex_unlock(&h_->alloc_lock);
  return i;
}

void LocationTable::free_slot(uint32_t index1) {
  UlSlot& s = slot(index1);
  s.in_use = 0;
  lock_mutex(&h_->alloc_lock);
  s.next = h_->free_head;
  h_->free_head = index1;
  pthread_mutex_unlock(&h_->alloc_lock);
}

void LocationTable::collect(const UlBucket& b, uint64_t hash, std::string_view aor,
                            std::vector<uint32_t>* out) const {
  uint32_t guard = 0;
  for (uint32_t i = b.head; i != 0 && guard++ <= h_->capacity; i = slot(i).next) {
    const UlSlot& s = slot(i);
    if (s.aor_hash == hash && aor == s.rec.aor) out->push_back(i);
  }
}

void LocationTable::unlink(UlBucket& b, uint32_t index1) {
  uint32_t* link = &b.head;
  uint32_t guard = 0;
  while (*link != 0 && guard++ <= h_->capacity) {
    if (*link == index1) {
      *link = slot(index1).next;
      return;
    }
    link = &slot(*link).next;
  }
}

void LocationTable::count(size_t before, size_t after) {
  if (before == after) return;
  const int64_t d = static_cast<int64_t>(after) - static_cast<int64_t>(before);
  h_->contacts.fetch_add(static_cast<uint32_t>(d), std::memory_order_relaxed);
  if (before == 0 && after > 0) {
    h_->aors.fetch_add(1, std::memory_order_relaxed);
  } else if (before > 0 && after == 0) {
    h_->aors.fetch_sub(1, std::memory_order_relaxed);
  }
}

std::vector<Contact> LocationTable::get(std::string_view aor) const {
  std::vector<Contact> out;
  const uint64_t hash = aor_hash(aor);
  UlBucket& b = bucket(hash);
  std::vector<uint32_t> idx;
  {
    BucketLock lock(b);
    collect(b, hash, aor, &idx);
    out.reserve(idx.size());
    for (uint32_t i : idx) out.push_back(to_contact(slot(i).rec, i));
  }
  std::stable_sort(out.begin(), out.end(), contact_before);
  return out;
}

LocationTable::UpdateOutcome LocationTable::update(
    std::string_view aor, const std::function<bool(std::vector<Contact>&)>& edit) {
  UpdateOutcome o;
  const uint64_t hash = aor_hash(aor);
  UlBucket& b = bucket(hash);
  BucketLock lock(b);
  std::vector<uint32_t> idx;
  collect(b, hash, aor, &idx);
  std::vector<Contact> cur;
  cur.reserve(idx.size());
  for (uint32_t i : idx) cur.push_back(to_contact(slot(i).rec, i));
  std::stable_sort(cur.begin(), cur.end(), contact_before);
  o.before = cur.size();
  o.after = cur.size();
  if (!edit(cur)) return o;
  // Bindings the edit dropped.
  for (uint32_t i : idx) {
    bool kept = false;
    for (const Contact& c : cur) kept = kept || c.slot == i;
    if (kept) continue;
    unlink(b, i);
    free_slot(i);
  }
  size_t after = 0;
  o.status = UpdateStatus::kOk;
  for (Contact& c : cur) {
    c.aor.assign(aor);
    if (c.slot != 0) {
      to_record(c, &slot(c.slot).rec);
      ++after;
      continue;
    }
    uint32_t i = alloc_slot();
    if (i == 0) {
      o.status = UpdateStatus::kFull;
      continue;
    }
    if (c.contact_id == 0)
      c.contact_id = h_->next_contact_id.fetch_add(1, std::memory_order_relaxed);
    UlSlot& s = slot(i);
    s.aor_hash = hash;
    s.in_use = 1;
    to_record(c, &s.rec);
    c.slot = i;
    s.next = b.head;  // linked last: a reader never sees a half-written record in the chain
    b.head = i;
    ++after;
    ++o.stored;
  }
  o.after = after;
  count(o.before, o.after);
  h_->changes.fetch_add(1, std::memory_order_release);
  return o;
}

size_t LocationTable::remove_aor(std::string_view aor) {
  UpdateOutcome o = update(aor, [](std::vector<Contact>& cs) {
    if (cs.empty()) return false;
    cs.clear();
    return true;
  });
  return o.before - o.after;
}

bool LocationTable::remove_contact(std::string_view aor, std::string_view uri) {
  UpdateOutcome o = update(aor, [uri](std::vector<Contact>& cs) {
    for (auto it = cs.begin(); it != cs.end(); ++it) {
      if (it->uri == uri) {
        cs.erase(it);
        return true;
      }
    }
    return false;
  });
  return o.after < o.before;
}

size_t LocationTable::clear() {
  return expire(INT64_MAX, nullptr, nullptr);
}

void LocationTable::for_each_aor(
    const std::function<void(const std::vector<Contact>&)>& visit) const {
  const uint32_t n = hash_size();
  std::vector<Contact> all;
  for (uint32_t bi = 0; bi < n; ++bi) {
    UlBucket& b = buckets_[bi];
    all.clear();
    {
      BucketLock lock(b);
      if (b.head == 0) continue;
      uint32_t guard = 0;
      for (uint32_t i = b.head; i != 0 && guard++ <= h_->capacity; i = slot(i).next)
        all.push_back(to_contact(slot(i).rec, i));
    }
    // Group by AoR, keeping the order AoRs were met in.
    std::stable_sort(all.begin(), all.end(),
                     [](const Contact& a, const Contact& c) { return a.aor < c.aor; });
    size_t start = 0;
    while (start < all.size()) {
      size_t end = start + 1;
      while (end < all.size() && all[end].aor == all[start].aor) ++end;
      std::vector<Contact> group(all.begin() + static_cast<ptrdiff_t>(start),
                                 all.begin() + static_cast<ptrdiff_t>(end));
      std::stable_sort(group.begin(), group.end(), contact_before);
      visit(group);
      start = end;
    }
  }
}

size_t LocationTable::expire(int64_t now, const std::function<bool(const Contact&)>& gone,
                             std::vector<Contact>* removed) {
  const uint32_t n = hash_size();
  size_t total = 0;
  for (uint32_t bi = 0; bi < n; ++bi) {
    UlBucket& b = buckets_[bi];
    BucketLock lock(b);
    if (b.head == 0) continue;
    // Per AoR counts before, to keep registered_users right.
    std::vector<std::pair<uint64_t, std::string>> aors;
    std::vector<uint32_t> doomed;
    uint32_t guard = 0;
    for (uint32_t i = b.head; i != 0 && guard++ <= h_->capacity; i = slot(i).next) {
      const UlRecord& r = slot(i).rec;
      const bool dead = now == INT64_MAX || (r.expires != 0 && r.expires <= now) ||
                        (r.conn_bound && gone && gone(to_contact(r, i)));
      if (!dead) continue;
      doomed.push_back(i);
      if (now != INT64_MAX && r.expires != 0 && r.expires <= now) stat_add(Stat::kUlExpires);
    }
    for (uint32_t i : doomed) {
      UlSlot& s = slot(i);
      std::vector<uint32_t> same;
      collect(b, s.aor_hash, s.rec.aor, &same);
      if (removed != nullptr) removed->push_back(to_contact(s.rec, i));
      unlink(b, i);
      count(same.size(), same.size() - 1);
      free_slot(i);
      ++total;
    }
  }
  if (total > 0) h_->changes.fetch_add(1, std::memory_order_release);
  return total;
}

void LocationTable::mark_synced(uint64_t changes) {
  const uint32_t n = hash_size();
  for (uint32_t bi = 0; bi < n; ++bi) {
    UlBucket& b = buckets_[bi];
    BucketLock lock(b);
    uint32_t guard = 0;
    for (uint32_t i = b.head; i != 0 && guard++ <= h_->capacity; i = slot(i).next)
      slot(i).rec.state = static_cast<uint8_t>(ContactState::kSync);
  }
  h_->synced.store(changes, std::memory_order_relaxed);
}

}  // namespace sipsd::ul
