// The shared connection index: lookups by peer address and alias port verified against the
// slots, removal, reuse of a slot for another peer, tombstone reuse, domain filter, and writers
// in several threads.
#include "core/shm/conn_index.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "core/shm/shm_region.h"

namespace sipsd {
namespace {

class ConnIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ShmRegion::Layout layout;
    layout.max_procs = 2;
    layout.conn_capacity = 64;
    auto r = ShmRegion::create(layout);
    ASSERT_TRUE(r.ok()) << r.message();
    shm_ = std::move(r).value();
  }

  // A live connection in the table, indexed.
  uint32_t open(Proto proto, const char* ip, uint16_t port, bool outbound = false,
                const char* domain = "") {
    ConnInfo info;
    info.id = ++next_id_;
    info.owner = 1;
    info.proto = static_cast<uint8_t>(proto);
    info.family = AF_INET;
    inet_pton(AF_INET, ip, info.remote_ip);
    info.remote_port = port;
    info.outbound = outbound;
    snprintf(info.tls_domain, sizeof info.tls_domain, "%s", domain);
    ConnTable t = shm_->conn_table();
    auto slot = t.allocate(info);
    EXPECT_TRUE(slot.has_value());
    t.update(*slot, info, ConnState::kEstablished);
    shm_->conn_index().add_conn(*slot, info);
    return *slot;
  }

  std::optional<uint32_t> find_id(Proto proto, const char* ip, uint16_t port,
                                  std::string_view domain = {}) {
    auto key = ConnEndpoint::parse(proto, ip, port);
    EXPECT_TRUE(key.has_value());
    auto f = shm_->conn_index().find(*key, domain);
    if (!f) return std::nullopt;
    return f->info.id;
  }

  std::unique_ptr<ShmRegion> shm_;
  uint32_t next_id_ = 0;
};

TEST_F(ConnIndexTest, FindsByProtoAddressAndPort) {
  open(Proto::kTls, "10.0.0.1", 5061);
  open(Proto::kTcp, "10.0.0.1", 5061);
  open(Proto::kTls, "10.0.0.2", 40000);
  EXPECT_EQ(find_id(Proto::kTls, "10.0.0.1", 5061), 1u);
  EXPECT_EQ(find_id(Proto::kTcp, "10.0.0.1", 5061), 2u);
  EXPECT_EQ(find_id(Proto::kTls, "10.0.0.2", 40000), 3u);
  EXPECT_FALSE(find_id(Proto::kTls, "10.0.0.2", 40001));
  EXPECT_FALSE(find_id(Proto::kTls, "10.0.0.3", 40000));
}

TEST_F(ConnIndexTest, RemovedAndReusedSlotsNeverMisdirect) {
  uint32_t slot = open(Proto::kTls, "10.0.0.1", 5061);
  ConnTable t = shm_->conn_table();
  ConnInfo info = *t.read(slot);
  shm_->conn_index().remove_conn(slot, info);
  t.release(slot);
  EXPECT_FALSE(find_id(Proto::kTls, "10.0.0.1", 5061));
  // A stale entry (its slot now describes another peer) is checked against the slot and
  // ignored.
  uint32_t s2 = open(Proto::kTls, "10.0.0.7", 5061);
  ConnInfo other = *t.read(s2);
  inet_pton(AF_INET, "10.0.0.8", other.remote_ip);
  t.update(s2, other, ConnState::kEstablished);  // the entry for 10.0.0.7 is left behind
  shm_->conn_index().add_conn(s2, other);
  EXPECT_FALSE(find_id(Proto::kTls, "10.0.0.7", 5061));
  EXPECT_EQ(find_id(Proto::kTls, "10.0.0.8", 5061), other.id);
}

TEST_F(ConnIndexTest, AliasPortFindsTheConnection) {
  uint32_t slot = open(Proto::kTcp, "10.0.0.5", 33000);
  ConnTable t = shm_->conn_table();
  ConnInfo info = *t.read(slot);
  info.alias_port = 5060;
  t.update(slot, info, ConnState::kEstablished);
  shm_->conn_index().add_conn(slot, info);
  EXPECT_EQ(find_id(Proto::kTcp, "10.0.0.5", 5060), info.id);
  EXPECT_EQ(find_id(Proto::kTcp, "10.0.0.5", 33000), info.id);
  shm_->conn_index().remove_conn(slot, info);
  EXPECT_FALSE(find_id(Proto::kTcp, "10.0.0.5", 5060));
}

TEST_F(ConnIndexTest, OutboundTlsConnectionsAreTakenOnlyForTheirClientDomain) {
  open(Proto::kTls, "10.0.0.9", 5061, /*outbound=*/true, "peer_a");
  EXPECT_EQ(find_id(Proto::kTls, "10.0.0.9", 5061, "peer_a"), 1u);
  EXPECT_FALSE(find_id(Proto::kTls, "10.0.0.9", 5061, "peer_b"));
  open(Proto::kTls, "10.0.0.9", 5061, /*outbound=*/false);  // the peer's own connection to us
  EXPECT_EQ(find_id(Proto::kTls, "10.0.0.9", 5061, "peer_b"), 2u);
}

TEST(HashWords, ConcurrentWritersNeverLoseOrDuplicate) {
  std::vector<HashWord> words(1 << 12);
  for (auto& w : words) w.word.store(0);
  HashWords set(words.data(), static_cast<uint32_t>(words.size()));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 400;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&set, t] {
      for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < kPerThread; ++i) {
          uint32_t v = static_cast<uint32_t>(t * kPerThread + i + 1);
          ASSERT_TRUE(set.add(hash_bytes(&v, sizeof v), v));
        }
        if (round < 2)
          for (int i = 0; i < kPerThread; ++i) {
            uint32_t v = static_cast<uint32_t>(t * kPerThread + i + 1);
            set.remove(hash_bytes(&v, sizeof v), v);
          }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (uint32_t v = 1; v <= kThreads * kPerThread; ++v) {
    int seen = 0;
    set.find(hash_bytes(&v, sizeof v), [&](uint32_t value) {
      if (value == v) ++seen;
      return false;
    });
    EXPECT_EQ(seen, 1) << v;
  }
}

}  // namespace
}  // namespace sipsd
