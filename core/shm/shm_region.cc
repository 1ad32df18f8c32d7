#include "core/shm/shm_region.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace sipsd {

namespace {

constexpr uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}
constexpr uint64_t kAlign = 64;  // cache line: counters of different processes never share one

uint64_t proc_slot_size() {
  return align_up(sizeof(ProcSlot), kAlign);
}
uint64_t tls_slot_total(uint64_t data) {
  return align_up(sizeof(TlsSlot) + data, kAlign);
}

}  // namespace

Result<std::unique_ptr<ShmRegion>> ShmRegion::create(const Layout& layout) {
  ShmHeader h = {};
  memcpy(h.magic, kShmMagic, sizeof h.magic);
  h.layout_version = kShmLayoutVersion;
  h.header_size = sizeof(ShmHeader);
  h.max_procs = layout.max_procs;
  h.proc_slot_size = static_cast<uint32_t>(proc_slot_size());
  h.proc_off = align_up(sizeof(ShmHeader), kAlign);
  h.conn_capacity = layout.conn_capacity;
  h.conn_slot_size = sizeof(ConnSlot);
  h.conn_off = align_up(h.proc_off + uint64_t{h.max_procs} * h.proc_slot_size, kAlign);
  h.index_capacity = ConnIndex::capacity_for(h.conn_capacity);
  h.index_off = align_up(h.conn_off + uint64_t{h.conn_capacity} * h.conn_slot_size, kAlign);
  h.tx_index_capacity = layout.tx_index_capacity;
  h.tx_index_off = align_up(h.index_off + uint64_t{h.index_capacity} * sizeof(HashWord), kAlign);
  h.ticket_off =
      align_up(h.tx_index_off + uint64_t{h.tx_index_capacity} * sizeof(HashWord), kAlign);
  h.tls_slot_size = layout.tls_slot_size;
  h.tls_off = align_up(h.ticket_off + sizeof(TicketKeySlot), kAlign);
  h.usrloc_off = align_up(h.tls_off + 2 * tls_slot_total(h.tls_slot_size), kAlign);
  h.usrloc_size = layout.usrloc_bytes;
  h.total_size = h.usrloc_off + align_up(h.usrloc_size, kAlign);

  void* base =
      mmap(nullptr, h.total_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return make_error(strprintf("cannot map %llu bytes of shared memory: %s",
                                static_cast<unsigned long long>(h.total_size), strerror(errno)));
  // Keys live here: keep them out of core dumps.
  madvise(base, h.total_size, MADV_DONTDUMP);

  // The mapping is zero-filled; construct the header and the atomics in place.
  auto* header = new (base) ShmHeader;
  memcpy(static_cast<void*>(header), &h, offsetof(ShmHeader, tls_generation));
  header->tls_generation.store(0, std::memory_order_relaxed);
  std::unique_ptr<ShmRegion> region(new ShmRegion(base, h.total_size));
  for (uint32_t i = 0; i < h.max_procs; ++i) new (&region->proc(static_cast<int>(i))) ProcSlot();
  ConnSlot* slots = reinterpret_cast<ConnSlot*>(region->base_ + h.conn_off);
  for (uint32_t i = 0; i < h.conn_capacity; ++i) new (&slots[i]) ConnSlot();
  auto* words = reinterpret_cast<HashWord*>(region->base_ + h.index_off);
  for (uint32_t i = 0; i < h.index_capacity; ++i) new (&words[i]) HashWord{0};
  auto* tx_words = reinterpret_cast<HashWord*>(region->base_ + h.tx_index_off);
  for (uint32_t i = 0; i < h.tx_index_capacity; ++i) new (&tx_words[i]) HashWord{0};
  new (&region->ticket_keys()) TicketKeySlot();
  for (int i = 0; i < 2; ++i) new (&region->tls_slot(i)) TlsSlot();
  return region;
}

ShmRegion::ShmRegion(void* base, size_t size)
    : base_(static_cast<char*>(base)), size_(size), header_(static_cast<ShmHeader*>(base)) {}

ShmRegion::~ShmRegion() {
  munmap(base_, size_);
}

Status ShmRegion::validate() const {
  const ShmHeader& h = *header_;
  if (memcmp(h.magic, kShmMagic, sizeof h.magic) != 0)
    return make_error("shared memory: bad magic");
  if (h.layout_version != kShmLayoutVersion)
    return make_error(strprintf("shared memory: layout version %u, this binary expects %u",
                                h.layout_version, kShmLayoutVersion));
  if (h.header_size != sizeof(ShmHeader) || h.proc_slot_size != proc_slot_size() ||
      h.conn_slot_size != sizeof(ConnSlot) || h.total_size != size_)
    return make_error("shared memory: layout sizes differ from this binary's");
  return Status::Ok();
}

ProcSlot& ShmRegion::proc(int index) const {
  return *reinterpret_cast<ProcSlot*>(base_ + header_->proc_off +
                                      static_cast<uint64_t>(index) * header_->proc_slot_size);
}

ConnTable ShmRegion::conn_table() const {
  return ConnTable(reinterpret_cast<ConnSlot*>(base_ + header_->conn_off), header_->conn_capacity);
}

ConnIndex ShmRegion::conn_index() const {
  return ConnIndex(reinterpret_cast<HashWord*>(base_ + header_->index_off), header_->index_capacity,
                   conn_table());
}

HashWords ShmRegion::tx_index() const {
  return HashWords(reinterpret_cast<HashWord*>(base_ + header_->tx_index_off),
                   header_->tx_index_capacity);
}

TicketKeySlot& ShmRegion::ticket_keys() const {
  return *reinterpret_cast<TicketKeySlot*>(base_ + header_->ticket_off);
}

TlsSlot& ShmRegion::tls_slot(int index) const {
  return *reinterpret_cast<TlsSlot*>(base_ + header_->tls_off +
                                     static_cast<uint64_t>(index) *
                                         tls_slot_total(header_->tls_slot_size));
}

void* ShmRegion::usrloc_area() const {
  return header_->usrloc_size == 0 ? nullptr : base_ + header_->usrloc_off;
}

char* ShmRegion::tls_data(int index) const {
  return reinterpret_cast<char*>(&tls_slot(index)) + sizeof(TlsSlot);
}

}  // namespace sipsd
