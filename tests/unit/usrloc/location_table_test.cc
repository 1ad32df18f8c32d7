// usrloc's shared location table: update/get in q order, removal, the capacity limit, expiry
// (by time and by a gone connection), visibility across a fork, and MI reply shapes.
#include "core/usrloc/location_table.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "core/usrloc/mi_commands.h"

namespace sipsd::ul {
namespace {

class LocationTableTest : public ::testing::Test {
 protected:
  void make(uint32_t capacity, uint32_t bits = 4) {
    size_ = LocationTable::bytes_for(capacity, bits);
    area_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(area_, MAP_FAILED);
    auto t = LocationTable::init(area_, size_, capacity, bits);
    ASSERT_TRUE(t.ok()) << t.message();
    table_ = *t;
  }
  void TearDown() override {
    if (area_ != nullptr) munmap(area_, size_);
  }

  static Contact binding(std::string uri, int q, int64_t expires, int64_t modified = 100) {
    Contact c;
    c.uri = std::move(uri);
    c.q = q;
    c.expires = expires;
    c.last_modified = modified;
    c.callid = "call-1";
    return c;
  }

  LocationTable::UpdateOutcome add(std::string_view aor, Contact c) {
    return table_.update(aor, [&](std::vector<Contact>& cs) {
      cs.push_back(c);
      return true;
    });
  }

  void* area_ = nullptr;
  size_t size_ = 0;
  LocationTable table_;
};

TEST_F(LocationTableTest, BindingsComeBackInQOrder) {
  make(16);
  add("alice", binding("sip:a@1.1.1.1", 500, 1000, 10));
  add("alice", binding("sip:b@1.1.1.1", kQUnspecified, 1000, 5));
  add("alice", binding("sip:c@1.1.1.1", 1000, 1000, 20));
  add("alice", binding("sip:d@1.1.1.1", 500, 1000, 5));  // same q as a, older: before it
  add("alice", binding("sip:z@1.1.1.1", 0, 1000, 1));    // q=0 still before "no q"
  std::vector<Contact> cs = table_.get("alice");
  ASSERT_EQ(cs.size(), 5u);
  EXPECT_EQ(cs[0].uri, "sip:c@1.1.1.1");
  EXPECT_EQ(cs[1].uri, "sip:d@1.1.1.1");
  EXPECT_EQ(cs[2].uri, "sip:a@1.1.1.1");
  EXPECT_EQ(cs[3].uri, "sip:z@1.1.1.1");
  EXPECT_EQ(cs[4].uri, "sip:b@1.1.1.1");
  EXPECT_EQ(table_.contact_count(), 5u);
  EXPECT_EQ(table_.aor_count(), 1u);
  EXPECT_NE(cs[0].contact_id, cs[1].contact_id);
}

TEST_F(LocationTableTest, AorsDoNotMix) {
  make(16, 1);  // two buckets: AoRs share chains
  for (int i = 0; i < 6; ++i)
    add("user" + std::to_string(i), binding("sip:u" + std::to_string(i) + "@h", 1000, 1000));
  for (int i = 0; i < 6; ++i) {
    std::vector<Contact> cs = table_.get("user" + std::to_string(i));
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].uri, "sip:u" + std::to_string(i) + "@h");
    EXPECT_EQ(cs[0].aor, "user" + std::to_string(i));
  }
  EXPECT_EQ(table_.aor_count(), 6u);
  EXPECT_EQ(table_.remove_aor("user3"), 1u);
  EXPECT_TRUE(table_.get("user3").empty());
  EXPECT_EQ(table_.get("user4").size(), 1u);
  EXPECT_EQ(table_.aor_count(), 5u);
}

TEST_F(LocationTableTest, FullTableRefusesAndFreedSlotsAreReused) {
  make(3);
  EXPECT_EQ(add("a", binding("sip:1@h", 1000, 1000)).status, LocationTable::UpdateStatus::kOk);
  add("a", binding("sip:2@h", 1000, 1000));
  add("b", binding("sip:3@h", 1000, 1000));
  LocationTable::UpdateOutcome o = add("c", binding("sip:4@h", 1000, 1000));
  EXPECT_EQ(o.status, LocationTable::UpdateStatus::kFull);
  EXPECT_EQ(o.stored, 0u);
  EXPECT_TRUE(table_.get("c").empty());
  EXPECT_TRUE(table_.remove_contact("a", "sip:1@h"));
  EXPECT_FALSE(table_.remove_contact("a", "sip:1@h"));
  EXPECT_EQ(add("c", binding("sip:4@h", 1000, 1000)).status, LocationTable::UpdateStatus::kOk);
  EXPECT_EQ(table_.contact_count(), 3u);
}

TEST_F(LocationTableTest, EditCanRefuseAndChange) {
  make(8);
  add("a", binding("sip:1@h", 1000, 1000));
  LocationTable::UpdateOutcome o = table_.update("a", [](std::vector<Contact>& cs) {
    cs.clear();
    return false;  // changes nothing
  });
  EXPECT_EQ(o.status, LocationTable::UpdateStatus::kUnchanged);
  EXPECT_EQ(table_.get("a").size(), 1u);
  table_.update("a", [](std::vector<Contact>& cs) {
    cs[0].expires = 5000;
    cs[0].cseq = 7;
    return true;
  });
  std::vector<Contact> cs = table_.get("a");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].expires, 5000);
  EXPECT_EQ(cs[0].cseq, 7u);
  EXPECT_EQ(table_.contact_count(), 1u);
}

TEST_F(LocationTableTest, ExpiryByTimeAndByConnection) {
  make(8);
  add("a", binding("sip:old@h", 1000, 100));
  add("a", binding("sip:new@h", 1000, 300));
  add("a", binding("sip:perm@h", 1000, 0));  // permanent
  Contact bound = binding("sip:tls@h", 1000, 1000);
  bound.conn_bound = true;
  bound.conn_id = 42;
  add("b", bound);
  std::vector<Contact> removed;
  size_t n = table_.expire(
      200, [](const Contact& c) { return c.conn_id == 42; }, &removed);
  EXPECT_EQ(n, 2u);
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(table_.get("a").size(), 2u);
  EXPECT_TRUE(table_.get("b").empty());
  EXPECT_EQ(table_.aor_count(), 1u);
  EXPECT_EQ(table_.clear(), 2u);
  EXPECT_EQ(table_.contact_count(), 0u);
  EXPECT_EQ(table_.aor_count(), 0u);
}

TEST_F(LocationTableTest, OtherProcessesSeeTheSameBindings) {
  make(8);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Result<LocationTable> t = LocationTable::attach(area_, size_);
    if (!t.ok()) _exit(2);
    LocationTable mine = *t;
    mine.update("bob", [](std::vector<Contact>& cs) {
      Contact c;
      c.uri = "sip:bob@10.0.0.1";
      c.expires = 99;
      cs.push_back(c);
      return true;
    });
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::vector<Contact> cs = table_.get("bob");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].uri, "sip:bob@10.0.0.1");
}

TEST_F(LocationTableTest, AttachRefusesAForeignArea) {
  std::vector<char> junk(4096, 'x');
  EXPECT_FALSE(LocationTable::attach(junk.data(), junk.size()).ok());
}

TEST_F(LocationTableTest, LongTextsAreCut) {
  make(4);
  Contact c = binding(std::string(1000, 'u'), 1000, 100);
  c.user_agent = std::string(500, 'a');
  add("a", c);
  std::vector<Contact> cs = table_.get("a");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].uri.size(), kMaxContactLen);
  EXPECT_EQ(cs[0].user_agent.size(), kMaxUserAgentLen);
}

TEST_F(LocationTableTest, MiDumpShowAndRemove) {
  make(8);
  Contact c = binding("sip:alice@192.0.2.1:5061;transport=tls", 500, time(nullptr) + 100);
  c.received = "sip:192.0.2.1:40000;transport=tls";
  c.socket = "tls:127.0.0.1:5061";
  add("alice", c);
  MiRegistry reg;
  UlMiSetup setup;
  setup.table = table_;
  add_usrloc_mi_commands(&reg, setup);
  const MiCommand* dump = reg.find("ul_dump");
  ASSERT_NE(dump, nullptr);
  MiResult r = dump->handler(MiParams());
  ASSERT_TRUE(std::holds_alternative<Json>(r));
  std::string text = std::get<Json>(r).dump();
  EXPECT_NE(text.find(R"({"Domains":[{"name":"location","hash_size":16,"AORs":[{"AOR":"alice",)"
                      R"("Contacts":[{"Contact":"sip:alice@192.0.2.1:5061;transport=tls",)"
                      R"("ContactID":1,"Expires":)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("Q":"0.5","Callid":"call-1","Cseq":0,)"
                      R"("Received":"sip:192.0.2.1:40000;transport=tls","State":"CS_NEW",)"
                      R"("Flags":0,"Cflags":"0","Socket":"tls:127.0.0.1:5061","Methods":)"),
            std::string::npos)
      << text;

  MiParams p;
  p.set("table_name", Json("location"));
  p.set("aor", Json("nobody"));
  MiResult miss = reg.find("ul_show_contact")->handler(p);
  ASSERT_TRUE(std::holds_alternative<MiError>(miss));
  EXPECT_EQ(std::get<MiError>(miss).code, 404);
  EXPECT_EQ(std::get<MiError>(miss).message, "AOR not found");

  MiParams bad;
  bad.set("table_name", Json("nosuch"));
  bad.set("aor", Json("alice"));
  MiResult nt = reg.find("ul_rm")->handler(bad);
  ASSERT_TRUE(std::holds_alternative<MiError>(nt));
  EXPECT_EQ(std::get<MiError>(nt).message, "Table not found");

  MiParams rc;
  rc.set("table_name", Json("location"));
  rc.set("aor", Json("alice"));
  rc.set("contact", Json("sip:other@h"));
  MiResult nc = reg.find("ul_rm_contact")->handler(rc);
  ASSERT_TRUE(std::holds_alternative<MiError>(nc));
  EXPECT_EQ(std::get<MiError>(nc).message, "Contact not found");

  MiParams rm;
  rm.set("table_name", Json("location"));
  rm.set("aor", Json("alice"));
  MiResult ok = reg.find("ul_rm")->handler(rm);
  ASSERT_TRUE(std::holds_alternative<Json>(ok));
  EXPECT_EQ(std::get<Json>(ok).as_string(), "OK");
  EXPECT_TRUE(table_.get("alice").empty());
}

}  // namespace
}  // namespace sipsd::ul
