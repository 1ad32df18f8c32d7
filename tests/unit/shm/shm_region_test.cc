#include "core/shm/shm_region.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "tls_mgm/snapshot_store.h"

namespace sipsd {
namespace {

std::unique_ptr<ShmRegion> make_region(uint32_t procs = 3, uint32_t conns = 16) {
  ShmRegion::Layout layout;
  layout.max_procs = procs;
  layout.conn_capacity = conns;
  layout.tls_slot_size = 64 * 1024;
  auto r = ShmRegion::create(layout);
  EXPECT_TRUE(r.ok()) << r.message();
  return std::move(r).value();
}

TEST(ShmRegion, HeaderDescribesTheLayoutAndIsChecked) {
  auto shm = make_region();
  EXPECT_TRUE(shm->validate().ok());
  EXPECT_EQ(shm->header().layout_version, kShmLayoutVersion);
  EXPECT_EQ(shm->max_procs(), 3u);
  EXPECT_EQ(shm->conn_table().capacity(), 16u);
  // Parts do not overlap and fit in the mapping.
  const ShmHeader& h = shm->header();
  EXPECT_LE(h.proc_off + h.max_procs * uint64_t{h.proc_slot_size}, h.conn_off);
  EXPECT_LE(h.conn_off + h.conn_capacity * uint64_t{h.conn_slot_size}, h.tls_off);
  EXPECT_LE(h.tls_off + 2 * (sizeof(TlsSlot) + h.tls_slot_size), h.total_size);
  // A reader refuses a header it does not understand.
  shm->header().layout_version = kShmLayoutVersion + 1;
  EXPECT_FALSE(shm->validate().ok());
  shm->header().layout_version = kShmLayoutVersion;
  shm->header().magic[0] = 'X';
  EXPECT_FALSE(shm->validate().ok());
}

TEST(ShmRegion, CountersWrittenByAChildAreSeenByTheParent) {
  auto shm = make_region();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    shm->proc(2).stats.add(Stat::kRcvRequests, 41);
    shm->proc(2).stats.add(Stat::kRcvRequests, 1);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_EQ(shm->proc(2).stats.get(Stat::kRcvRequests), 42u);
  EXPECT_EQ(shm->proc(1).stats.get(Stat::kRcvRequests), 0u);
}

TEST(ConnTable, AllocateUpdateReadRelease) {
  auto shm = make_region(3, 4);
  ConnTable t = shm->conn_table();
  ConnInfo info;
  info.id = 11;
  info.owner = 1;
  auto a = t.allocate(info);
  ASSERT_TRUE(a.has_value());
  ConnState st;
  auto got = t.read(*a, &st);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, 11u);
  EXPECT_EQ(st, ConnState::kHandedOff);

  info.remote_port = 5060;
  strcpy(info.tls_version, "TLSv1.3");
  t.update(*a, info, ConnState::kEstablished);
  got = t.read(*a, &st);
  EXPECT_EQ(st, ConnState::kEstablished);
  EXPECT_STREQ(got->tls_version, "TLSv1.3");

  // Fill it up: the table says so instead of overwriting.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.allocate(info).has_value());
  EXPECT_FALSE(t.allocate(info).has_value());
  EXPECT_EQ(t.count_in_use(), 4u);
  t.release(*a);
  EXPECT_FALSE(t.read(*a).has_value());
  EXPECT_TRUE(t.allocate(info).has_value());
}

TEST(ConnTable, SlotsOfADeadWorkerAreFreed) {
  auto shm = make_region(3, 8);
  ConnTable t = shm->conn_table();
  ConnInfo mine, theirs;
  mine.owner = 1;
  theirs.owner = 2;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t.allocate(mine).has_value());
  auto dying = t.allocate(theirs);
  ASSERT_TRUE(dying.has_value());
  ASSERT_TRUE(t.allocate(theirs).has_value());
  // Worker 2 died in the middle of a write: its slot's sequence is odd.
  reinterpret_cast<ConnSlot*>(reinterpret_cast<char*>(&shm->header()) +
                              shm->header().conn_off)[*dying]
      .seq.fetch_add(1);
  EXPECT_EQ(t.release_owned_by(2), 2u);
  EXPECT_EQ(t.count_in_use(), 3u);
  EXPECT_FALSE(t.read(*dying).has_value());
}

TEST(SnapshotStore, PublishesGenerationsAcrossFork) {
  auto shm = make_region();
  SnapshotStore store(*shm);
  EXPECT_EQ(store.generation(), 0u);
  EXPECT_FALSE(store.read().ok());
  tls::TlsSnapshot snap;
  snap.add_server_domains()->set_name("one");
  auto g1 = store.publish(snap);
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ(*g1, 1u);
  snap.mutable_server_domains(0)->set_name("two");
  ASSERT_TRUE(store.publish(snap).ok());
  pid_t pid = fork();
  if (pid == 0) {
    auto r = SnapshotStore(*shm).read();
    _exit(r.ok() && r->generation() == 2 && r->server_domains(0).name() == "two" ? 0 : 1);
  }
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(SnapshotStore, RefusesASnapshotThatDoesNotFit) {
  auto shm = make_region();
  SnapshotStore store(*shm);
  tls::TlsSnapshot big;
  big.add_server_domains()->set_certificate_pem(std::string(100 * 1024, 'x'));
  EXPECT_FALSE(store.publish(big).ok());
  EXPECT_EQ(store.generation(), 0u);  // nothing changed
}

}  // namespace
}  // namespace sipsd
