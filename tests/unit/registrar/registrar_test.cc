// registrar over a real location table: expires clamping, Contact parsing and its limits,
// wildcard removal, max_contacts, the 200 listing every binding, CSeq checks, lookup order and
// destinations, method filtering, flags parsing.
#include "core/registrar/registrar.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>

namespace sipsd::reg {
namespace {

class RegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    size_ = ul::LocationTable::bytes_for(512, 4);
    area_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(area_, MAP_FAILED);
    auto t = ul::LocationTable::init(area_, size_, 512, 4);
    ASSERT_TRUE(t.ok());
    table_ = *t;
  }
  void TearDown() override { munmap(area_, size_); }

  Registrar make(RegistrarConfig cfg = {}) { return Registrar(std::move(cfg), table_); }

  // A REGISTER with the given extra header lines.
  static std::string reg(const std::string& headers, uint32_t cseq = 1,
                         const std::string& callid = "reg-1") {
    return "REGISTER sip:a.example SIP/2.0\r\n"
           "Via: SIP/2.0/TLS 192.0.2.1:40000;branch=z9hG4bK-1\r\n"
           "From: <sip:alice@a.example>;tag=f1\r\n"
           "To: <sip:alice@a.example>\r\n"
           "Call-ID: " +
           callid + "\r\nCSeq: " + std::to_string(cseq) + " REGISTER\r\n" + headers +
           "Content-Length: 0\r\n\r\n";
  }

  SaveResult save(Registrar& r, std::string text, const SaveFlags& flags = {}, int64_t now = 1000,
                  uint32_t conn = 7) {
    buf_ = std::move(text);
    auto pr = sip::parse_message(buf_.data(), buf_.size(), &msg_);
    EXPECT_EQ(pr.status, sip::ParseStatus::kOk) << pr.reason;
    SaveRequest q;
    q.req = &msg_;
    q.src.proto = Proto::kTls;
    q.src.src_ip = "192.0.2.1";
    q.src.src_port = 40000;
    q.src.conn_id = conn;
    q.src.socket = "tls:127.0.0.1:5061";
    q.now = now;
    return r.save(q, flags);
  }

  void* area_ = nullptr;
  size_t size_ = 0;
  ul::LocationTable table_;
  std::string buf_;
  sip::Message msg_;
};

TEST(RegistrarExpires, ClampedAsOpenSips) {
  // contact param, else header, else default; 0 stays 0; min raises, max lowers.
  EXPECT_EQ(contact_expires(120, 300, 3600, 60, 0), 120);
  EXPECT_EQ(contact_expires(-1, 300, 3600, 60, 0), 300);
  EXPECT_EQ(contact_expires(-1, -1, 3600, 60, 0), 3600);
  EXPECT_EQ(contact_expires(0, 300, 3600, 60, 0), 0);
  EXPECT_EQ(contact_expires(10, -1, 3600, 60, 0), 60);
  EXPECT_EQ(contact_expires(10, -1, 3600, 0, 0), 10);
  EXPECT_EQ(contact_expires(7200, -1, 3600, 60, 3600), 3600);
  EXPECT_EQ(contact_expires(4294967295LL, -1, 3600, 60, 0), 4294967295LL);
}

TEST(RegistrarAor, FromUri) {
  std::string aor;
  EXPECT_TRUE(aor_of_uri("sip:alice@A.example", false, &aor));
  EXPECT_EQ(aor, "alice");
  EXPECT_TRUE(aor_of_uri("sip:alice@A.example;transport=tls", true, &aor));
  EXPECT_EQ(aor, "alice@a.example");
  EXPECT_FALSE(aor_of_uri("sip:a.example", false, &aor));
  EXPECT_FALSE(aor_of_uri("not a uri", false, &aor));
}

TEST_F(RegistrarTest, SaveAnswers200WithEveryBinding) {
  Registrar r = make();
  SaveResult s = save(r, reg("Contact: <sip:alice@192.0.2.1:5061;transport=tls>;q=0.5\r\n"
                             "Expires: 600\r\n"));
  EXPECT_EQ(s.rc, 1);
  EXPECT_EQ(s.code, 200);
  EXPECT_NE(s.reply.find("SIP/2.0 200 OK\r\n"), std::string::npos) << s.reply;
  EXPECT_NE(s.reply.find("Contact: <sip:alice@192.0.2.1:5061;transport=tls>;q=0.5;expires=600\r\n"),
            std::string::npos)
      << s.reply;
  s = save(r, reg("Contact: <sip:alice@192.0.2.9>;expires=30\r\n", 2));
  EXPECT_EQ(s.code, 200);
  // Both listed in one header, the second raised to min_expires.
  EXPECT_NE(s.reply.find("Contact: <sip:alice@192.0.2.1:5061;transport=tls>;q=0.5;expires=600, "
                         "<sip:alice@192.0.2.9>;expires=60\r\n"),
            std::string::npos)
      << s.reply;
  // No Contact: the bindings are listed, nothing changes.
  s = save(r, reg("", 3));
  EXPECT_EQ(s.code, 200);
  EXPECT_EQ(table_.get("alice").size(), 2u);
  std::vector<ul::Contact> cs = table_.get("alice");
  EXPECT_EQ(cs[0].conn_id, 7u);
  EXPECT_EQ(cs[0].socket, "tls:127.0.0.1:5061");
  EXPECT_EQ(cs[0].src_port, 40000);
}

TEST_F(RegistrarTest, ExpiresZeroAndWildcardUnregister) {
  Registrar r = make();
  save(r, reg("Contact: <sip:alice@192.0.2.1>\r\nContact: <sip:alice@192.0.2.2>\r\n"));
  EXPECT_EQ(table_.get("alice").size(), 2u);
  SaveResult s = save(r, reg("Contact: <sip:alice@192.0.2.1>;expires=0\r\n", 2));
  EXPECT_EQ(s.code, 200);
  EXPECT_EQ(table_.get("alice").size(), 1u);
  // "*" with a non-zero Expires, or next to another Contact: 400.
  s = save(r, reg("Contact: *\r\nExpires: 60\r\n", 3));
  EXPECT_EQ(s.code, 400);
  EXPECT_EQ(s.rc, -2);
  EXPECT_NE(s.reply.find("P-Registrar-Error: "), std::string::npos);
  s = save(r, reg("Contact: *, <sip:x@h>\r\nExpires: 0\r\n", 4));
  EXPECT_EQ(s.code, 400);
  s = save(r, reg("Contact: *\r\n", 5));  // no Expires at all
  EXPECT_EQ(s.code, 400);
  s = save(r, reg("Contact: *\r\nExpires: 0\r\n", 6));
  EXPECT_EQ(s.code, 200);
  EXPECT_TRUE(table_.get("alice").empty());
  EXPECT_EQ(s.reply.find("Contact:"), std::string::npos) << s.reply;
}

TEST_F(RegistrarTest, MaxContactsGives503) {
  RegistrarConfig cfg;
  cfg.max_contacts = 2;
  cfg.retry_after = 30;
  Registrar r = make(cfg);
  EXPECT_EQ(save(r, reg("Contact: <sip:a@h1>, <sip:a@h2>\r\n")).code, 200);
  SaveResult s = save(r, reg("Contact: <sip:a@h3>\r\n", 2));
  EXPECT_EQ(s.code, 503);
  EXPECT_NE(s.reply.find("SIP/2.0 503 Service Unavailable\r\n"), std::string::npos);
  EXPECT_NE(s.reply.find("P-Registrar-Error: Too many registered contacts\r\n"), std::string::npos);
  EXPECT_NE(s.reply.find("Retry-After: 30\r\n"), std::string::npos);
  EXPECT_EQ(table_.get("alice").size(), 2u);
  // The save flag overrides the parameter; force-registration evicts the oldest.
  SaveFlags f;
  std::string why;
  EXPECT_TRUE(parse_save_flags("max-contacts=3", &f, &why));
  EXPECT_EQ(save(r, reg("Contact: <sip:a@h3>\r\n", 3), f).code, 200);
  SaveFlags force;
  force.force_registration = true;
  EXPECT_EQ(save(r, reg("Contact: <sip:a@h4>\r\n", 4), force, 2000).code, 200);
  std::vector<ul::Contact> cs = table_.get("alice");
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_TRUE(cs[0].uri == "sip:a@h4" || cs[1].uri == "sip:a@h4");
}

TEST_F(RegistrarTest, AThousandContactsAreRefusedBeforeParsingThemAll) {
  Registrar r = make();
  // 100 Contact headers of 10 contacts each (one line of 1,000 is over the parser's line limit).
  std::string contacts;
  for (int line = 0; line < 100; ++line) {
    contacts += "Contact: ";
    for (int i = 0; i < 10; ++i)
      contacts += (i ? ", <sip:alice@10.0." : "<sip:alice@10.0.") + std::to_string(line) + "." +
                  std::to_string(i) + ">";
    contacts += "\r\n";
  }
  SaveResult s = save(r, reg(contacts));
  EXPECT_EQ(s.code, 503);
  EXPECT_EQ(s.error, "Too many registered contacts");
  EXPECT_TRUE(table_.get("alice").empty());
}

TEST_F(RegistrarTest, BadContactsAre400) {
  Registrar r = make();
  EXPECT_EQ(save(r, reg("Contact: <sip:alice@h>;expires=soon\r\n")).code, 400);
  EXPECT_EQ(save(r, reg("Contact: <sip:alice@h>;q=2\r\n")).code, 400);
  EXPECT_EQ(save(r, reg("Contact: <bogus\r\n")).code, 400);
  EXPECT_TRUE(table_.get("alice").empty());
}

TEST_F(RegistrarTest, CseqChecks) {
  Registrar r = make();
  save(r, reg("Contact: <sip:alice@h>\r\n", 10), {}, 1000);
  // A retransmission within cseq_delay: 200, no change.
  EXPECT_EQ(save(r, reg("Contact: <sip:alice@h>\r\n", 10), {}, 1005).code, 200);
  // The same Call-ID with an older CSeq later on: 400.
  EXPECT_EQ(save(r, reg("Contact: <sip:alice@h>\r\n", 9), {}, 1100).code, 400);
  EXPECT_EQ(save(r, reg("Contact: <sip:alice@h>\r\n", 11), {}, 1100).code, 200);
}

TEST_F(RegistrarTest, LookupOrdersByQAndGoesBackOverTheConnection) {
  Registrar r = make();
  save(r, reg("Contact: <sip:alice@10.0.0.1>;q=0.1, <sip:alice@10.0.0.2>;q=0.9, "
              "<sip:alice@10.0.0.3>\r\n"));
  LookupResult l =
      r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1000,
               [](Proto, std::string_view, uint16_t, uint32_t id) -> std::optional<int> {
                 return id == 7 ? std::optional<int>(3) : std::nullopt;
               });
  ASSERT_EQ(l.rc, 1);
  ASSERT_EQ(l.targets.size(), 3u);
  EXPECT_EQ(l.targets[0].uri, "sip:alice@10.0.0.2");
  EXPECT_EQ(l.targets[1].uri, "sip:alice@10.0.0.1");
  EXPECT_EQ(l.targets[2].uri, "sip:alice@10.0.0.3");
  EXPECT_EQ(l.targets[0].du, "sip:192.0.2.1:40000;transport=tls");
  EXPECT_EQ(l.targets[0].conn_id, 7u);
  EXPECT_EQ(l.targets[0].conn_owner, 3);
  EXPECT_TRUE(l.targets[0].no_new_conn);
  LookupFlags one;
  one.no_branches = true;
  EXPECT_EQ(r.lookup("alice", sip::Method::kInvite, "INVITE", one, 1000, nullptr).targets.size(),
            1u);
  EXPECT_EQ(r.lookup("bob", sip::Method::kInvite, "INVITE", {}, 1000, nullptr).rc, -1);
  // Expired: not found.
  EXPECT_EQ(r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1000 + 4000, nullptr).rc, -1);
  EXPECT_EQ(r.is_registered("alice", 1000), 1);
  EXPECT_EQ(r.is_registered("alice", 9000), -1);
  EXPECT_EQ(r.remove("alice", "sip:alice@10.0.0.1"), 1);
  EXPECT_EQ(r.remove("alice", "sip:alice@10.0.0.1"), -1);
  EXPECT_EQ(r.remove("alice", ""), 1);
  EXPECT_EQ(r.is_registered("alice", 1000), -1);
}

TEST_F(RegistrarTest, PersistentBindingsDieWithTheirConnection) {
  RegistrarConfig cfg;
  cfg.tcp_persistent_flag = 3;
  Registrar r = make(cfg);
  buf_ = reg("Contact: <sip:alice@10.0.0.1>\r\n");
  ASSERT_EQ(sip::parse_message(buf_.data(), buf_.size(), &msg_).status, sip::ParseStatus::kOk);
  SaveRequest q;
  q.req = &msg_;
  q.src.proto = Proto::kTls;
  q.src.src_ip = "192.0.2.1";
  q.src.src_port = 40000;
  q.src.conn_id = 7;
  q.msg_flags = 1u << 3;
  q.now = 1000;
  SaveResult s = r.save(q, {});
  EXPECT_TRUE(s.conn_bound);
  EXPECT_EQ(s.max_expires_left, 3600);
  auto gone = [](Proto, std::string_view, uint16_t, uint32_t) -> std::optional<int> {
    return std::nullopt;
  };
  EXPECT_EQ(r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1000, gone).rc, -1);
}

// RFC 5626 outbound: a Contact with +sip.instance and reg-id, from a UA that sends
// "Supported: outbound", is a flow: keyed by (instance, reg-id), bound to its connection,
// answered with "Require: outbound"; lookup uses one flow per instance, the freshest live one.
TEST_F(RegistrarTest, OutboundFlowsAreKeyedByInstanceAndRegId) {
  Registrar r = make();
  const std::string inst = "\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"";
  auto flow = [&](const std::string& host, int reg_id) {
    return "Supported: outbound, path\r\nContact: <sip:alice@" + host +
           ";transport=tls;ob>;+sip.instance=" + inst + ";reg-id=" + std::to_string(reg_id) +
           "\r\n";
  };
  SaveResult s = save(r, reg(flow("192.0.2.1:40000", 1)), {}, 1000, 7);
  ASSERT_EQ(s.code, 200) << s.reply;
  EXPECT_NE(s.reply.find("Require: outbound\r\n"), std::string::npos) << s.reply;
  EXPECT_TRUE(s.conn_bound);  // the flow keeps its connection, and dies with it
  // The same flow from a new connection and another Contact URI replaces the binding.
  s = save(r, reg(flow("192.0.2.1:40002", 1), 2), {}, 1010, 8);
  ASSERT_EQ(s.code, 200);
  std::vector<ul::Contact> cs = table_.get("alice");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].uri, "sip:alice@192.0.2.1:40002;transport=tls;ob");
  EXPECT_EQ(cs[0].conn_id, 8u);
  EXPECT_EQ(cs[0].reg_id, 1u);
  // A second flow (reg-id 2) of the same instance: two bindings, one branch, the freshest.
  s = save(r, reg(flow("192.0.2.1:40004", 2), 3), {}, 1020, 9);
  ASSERT_EQ(s.code, 200);
  EXPECT_EQ(table_.get("alice").size(), 2u);
  auto probe = [](std::vector<uint32_t> alive) {
    return [alive](Proto, std::string_view, uint16_t, uint32_t id) -> std::optional<int> {
      for (uint32_t a : alive)
        if (a == id) return 1;
      return std::nullopt;
    };
  };
  LookupResult l = r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1030, probe({8, 9}));
  ASSERT_EQ(l.targets.size(), 1u);
  EXPECT_EQ(l.targets[0].conn_id, 9u);
  // Flow 2's connection fails: flow 1 takes over; both gone: not found.
  l = r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1030, probe({8}));
  ASSERT_EQ(l.targets.size(), 1u);
  EXPECT_EQ(l.targets[0].conn_id, 8u);
  EXPECT_EQ(r.lookup("alice", sip::Method::kInvite, "INVITE", {}, 1030, probe({})).rc, -1);
  // Unregistering the flow by (instance, reg-id), whatever the Contact URI.
  s = save(r, reg(flow("192.0.2.1:1", 2) + "Expires: 0\r\n", 4), {}, 1040, 9);
  ASSERT_EQ(s.code, 200);
  EXPECT_EQ(table_.get("alice").size(), 1u);
}

TEST_F(RegistrarTest, OutboundNeedsTheFirstHopAndOneFlowPerRegister) {
  Registrar r = make();
  const std::string c =
      "Contact: <sip:alice@192.0.2.1:40000;transport=tls>;+sip.instance="
      "\"<urn:uuid:1>\";reg-id=1\r\n";
  // Behind a proxy whose Path has no ";ob": 439 (RFC 5626 section 6).
  const std::string via2 = "Via: SIP/2.0/TLS 192.0.2.9:5061;branch=z9hG4bK-2\r\n";
  SaveResult s = save(r, reg(via2 + "Supported: outbound\r\n" + c));
  EXPECT_EQ(s.code, 439) << s.reply;
  EXPECT_NE(s.reply.find("SIP/2.0 439 First Hop Lacks Outbound Support\r\n"), std::string::npos);
  // With an edge proxy that keeps the flow (Path ;ob, stored with path-lazy): accepted.
  SaveFlags lazy;
  lazy.path = PathMode::kLazy;
  s = save(r, reg(via2 + "Path: <sip:edge.example;lr;ob>\r\nSupported: outbound, path\r\n" + c, 2),
           lazy);
  EXPECT_EQ(s.code, 200) << s.reply;
  EXPECT_NE(s.reply.find("Require: outbound\r\n"), std::string::npos) << s.reply;
  // No "Supported: outbound": RFC 3261 rules, reg-id ignored, no Require.
  s = save(r, reg(c, 3));
  EXPECT_EQ(s.code, 200);
  EXPECT_EQ(s.reply.find("Require: outbound"), std::string::npos) << s.reply;
  // Two flows in one REGISTER, or a bad reg-id: 400.
  s = save(
      r, reg("Supported: outbound\r\n" + c +
                 "Contact: <sip:alice@192.0.2.1:40001>;+sip.instance=\"<urn:uuid:1>\";reg-id=2\r\n",
             4));
  EXPECT_EQ(s.code, 400);
  EXPECT_NE(s.reply.find("More than one Contact with reg-id"), std::string::npos) << s.reply;
  s = save(r, reg("Supported: outbound\r\nContact: "
                  "<sip:alice@192.0.2.1>;+sip.instance=\"<urn:uuid:1>\";reg-id=x\r\n",
                  5));
  EXPECT_EQ(s.code, 400);
}

TEST_F(RegistrarTest, MethodFiltering) {
  Registrar r = make();
  save(r, reg("Contact: <sip:alice@10.0.0.1>\r\nAllow: INVITE, ACK, BYE\r\n"));
  LookupFlags f;
  f.method_filtering = true;
  EXPECT_EQ(r.lookup("alice", sip::Method::kMessage, "MESSAGE", f, 1000, nullptr).rc, -2);
  EXPECT_EQ(r.lookup("alice", sip::Method::kInvite, "INVITE", f, 1000, nullptr).rc, 1);
  EXPECT_EQ(r.lookup("alice", sip::Method::kMessage, "MESSAGE", {}, 1000, nullptr).rc, 1);
}

TEST(RegistrarFlags, Parse) {
  SaveFlags s;
  std::string why;
  EXPECT_TRUE(parse_save_flags("no-reply, max-contacts=4,path-lazy", &s, &why));
  EXPECT_TRUE(s.no_reply);
  EXPECT_EQ(s.max_contacts, 4);
  EXPECT_EQ(s.path, PathMode::kLazy);
  EXPECT_FALSE(parse_save_flags("max-contacts=x", &s, &why));
  EXPECT_FALSE(parse_save_flags("bogus", &s, &why));
  EXPECT_NE(why.find("bogus"), std::string::npos);
  LookupFlags l;
  EXPECT_TRUE(parse_lookup_flags("method-filtering,no-branches", &l, &why));
  EXPECT_TRUE(l.method_filtering && l.no_branches);
}

}  // namespace
}  // namespace sipsd::reg
