#include "core/sip/name_addr.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sipsd::sip {
namespace {

std::vector<std::string> Split(std::string_view v, bool* failed = nullptr) {
  std::vector<std::string> out;
  ListSplitter s(v);
  std::string_view e;
  while (s.next(&e)) out.emplace_back(e);
  if (failed != nullptr) *failed = s.failed();
  EXPECT_FALSE(s.next(&e));  // stays at the end (or failed)
  return out;
}

TEST(ListSplitter, SplitsOnCommasOutsideQuotesAndBrackets) {
  bool failed = true;
  EXPECT_EQ(Split("<sip:a@b>, <sip:c@d>", &failed),
            (std::vector<std::string>{"<sip:a@b>", "<sip:c@d>"}));
  EXPECT_FALSE(failed);
  EXPECT_EQ(Split("\"Doe, John\" <sip:j@d>;q=0.5 ,\t<sip:x,y@h>,sip:z@h", &failed),
            (std::vector<std::string>{"\"Doe, John\" <sip:j@d>;q=0.5", "<sip:x,y@h>", "sip:z@h"}));
  EXPECT_FALSE(failed);
  // Escaped quotes inside the quoted string do not end it.
  EXPECT_EQ(Split(R"("a\",b" <sip:x>, "c\\" <sip:y>)", &failed),
            (std::vector<std::string>{R"("a\",b" <sip:x>)", R"("c\\" <sip:y>)"}));
  EXPECT_FALSE(failed);
  // A quoted parameter value holding <, > and commas.
  EXPECT_EQ(Split("<sip:a@h>;+sip.instance=\"<urn:uuid:1,2>\", <sip:b@h>", &failed),
            (std::vector<std::string>{"<sip:a@h>;+sip.instance=\"<urn:uuid:1,2>\"", "<sip:b@h>"}));
  EXPECT_FALSE(failed);
  // Via values.
  EXPECT_EQ(Split("SIP/2.0/TLS a;branch=z9hG4bK1, SIP/2.0/UDP b"),
            (std::vector<std::string>{"SIP/2.0/TLS a;branch=z9hG4bK1", "SIP/2.0/UDP b"}));
}

TEST(ListSplitter, EmptyValueHasNoElements) {
  bool failed = true;
  EXPECT_TRUE(Split("", &failed).empty());
  EXPECT_FALSE(failed);
  EXPECT_TRUE(Split("  \t ", &failed).empty());
  EXPECT_FALSE(failed);
  EXPECT_EQ(Split(" single ", &failed), (std::vector<std::string>{"single"}));
  EXPECT_FALSE(failed);
}

TEST(ListSplitter, Errors) {
  bool failed = false;
  EXPECT_TRUE(Split(",a", &failed).empty());
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a,,b", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a, ,b", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a,", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a , \t", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a, \"b", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a, \"b\\", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
  EXPECT_EQ(Split("a, <sip:b, c", &failed), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(failed);
}

TEST(ListSplitter, PositionIsTheNextElementStart) {
  const std::string_view v = "SIP/2.0/TLS a ,  SIP/2.0/TLS b,SIP/2.0/TLS c";
  ListSplitter s(v);
  std::string_view e;
  EXPECT_EQ(s.position(), 0u);
  ASSERT_TRUE(s.next(&e));
  EXPECT_EQ(v.substr(s.position()), "SIP/2.0/TLS b,SIP/2.0/TLS c");
  ASSERT_TRUE(s.next(&e));
  EXPECT_EQ(v.substr(s.position()), "SIP/2.0/TLS c");
  ASSERT_TRUE(s.next(&e));
  EXPECT_EQ(s.position(), v.size());
}

class NameAddrTest : public ::testing::Test {
 protected:
  bool P(std::string_view s, AddrForm form = AddrForm::kFromTo) {
    why_ = nullptr;
    return parse_name_addr(s, form, &na_, &why_);
  }
  void ExpectBad(std::string_view s, AddrForm form, const char* reason) {
    EXPECT_FALSE(P(s, form)) << s;
    EXPECT_STREQ(why_, reason) << s;
  }
  NameAddr na_;
  const char* why_ = nullptr;
};

TEST_F(NameAddrTest, Rfc3261FromAndTo) {
  // §20.20, §20.39.
  ASSERT_TRUE(P("\"A. G. Bell\" <sip:agb@bell-telephone.com> ;tag=a48s"));
  EXPECT_EQ(na_.display_name, "\"A. G. Bell\"");
  EXPECT_EQ(na_.uri, "sip:agb@bell-telephone.com");
  EXPECT_TRUE(na_.angle_brackets);
  EXPECT_EQ(na_.params, ";tag=a48s");
  EXPECT_TRUE(na_.has_tag);
  EXPECT_EQ(na_.tag, "a48s");
  EXPECT_EQ(na_.value, "\"A. G. Bell\" <sip:agb@bell-telephone.com> ;tag=a48s");

  ASSERT_TRUE(P("sip:+12125551212@server.phone2net.com;tag=887s"));
  EXPECT_EQ(na_.display_name, "");
  EXPECT_EQ(na_.uri, "sip:+12125551212@server.phone2net.com");
  EXPECT_FALSE(na_.angle_brackets);
  EXPECT_EQ(na_.params, ";tag=887s");  // §20.10: the header's, not the URI's
  EXPECT_EQ(na_.tag, "887s");

  ASSERT_TRUE(P("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8"));
  EXPECT_EQ(na_.display_name, "Anonymous");
  EXPECT_EQ(na_.tag, "hyh8");

  ASSERT_TRUE(P("The Operator <sip:operator@cs.columbia.edu>;tag=287447"));
  EXPECT_EQ(na_.display_name, "The Operator");
  ASSERT_TRUE(P("sip:+12125551212@server.phone2net.com"));
  EXPECT_FALSE(na_.has_tag);
  EXPECT_EQ(na_.tag, "");
  EXPECT_EQ(na_.params, "");
  // Not interpreted outside Contact.
  ASSERT_TRUE(P("<sip:a@b>;q=junk;expires=junk"));
  EXPECT_EQ(na_.q, -1);
  EXPECT_EQ(na_.expires, -1);
}

TEST_F(NameAddrTest, Rfc4475Shapes) {
  // §3.1.1.1 wsinv (after unfolding): whitespace around ';' and '=', escaped quotes.
  ASSERT_TRUE(P("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n"));
  EXPECT_EQ(na_.uri, "sip:vivekg@chair-dnrc.example.com");
  EXPECT_EQ(na_.tag, "1918181833n");
  ASSERT_TRUE(P(R"("J Rosenberg \\\""       <sip:jdrosen@example.com>   ;   tag = 98asjd8)"));
  EXPECT_EQ(na_.display_name, R"("J Rosenberg \\\"")");
  EXPECT_EQ(na_.tag, "98asjd8");
  ASSERT_TRUE(P(R"("Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ;)"
                R"( secondparam ; q = 0.33)",
                AddrForm::kContact));
  EXPECT_EQ(na_.q, 330);
  std::string_view v;
  EXPECT_TRUE(na_.param("NEWPARAM", &v));
  EXPECT_EQ(v, "newvalue");
  EXPECT_TRUE(na_.param("secondparam", &v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(na_.param("third"));
  // §3.1.1.6 lwsdisp: no space before '<'.
  ASSERT_TRUE(P("caller<sip:caller@example.com>;tag=323"));
  EXPECT_EQ(na_.display_name, "caller");
  EXPECT_EQ(na_.tag, "323");
  // A display name that looks like an address and holds '<', '>' and ';'.
  ASSERT_TRUE(P("\"x<y>;tag=z\" <sip:a@b;tag=uri-param>;TAG=real"));
  EXPECT_EQ(na_.uri, "sip:a@b;tag=uri-param");
  EXPECT_EQ(na_.tag, "real");
  // §3.1.2.14 quotbal.
  ExpectBad("\"Mr. J. User <sip:j.user@example.com>", AddrForm::kFromTo,
            "Unterminated quoted string");
}

TEST_F(NameAddrTest, RouteForms) {
  // §20.30, §20.34 (one element each, as ListSplitter yields them).
  ASSERT_TRUE(P("<sip:server10.biloxi.com;lr>", AddrForm::kRoute));
  EXPECT_EQ(na_.uri, "sip:server10.biloxi.com;lr");
  EXPECT_EQ(na_.params, "");
  ASSERT_TRUE(P("\"Proxy\" <sip:p.example.com;lr>;x=1", AddrForm::kRoute));
  EXPECT_EQ(na_.params, ";x=1");
  ExpectBad("sip:server10.biloxi.com;lr", AddrForm::kRoute, "Route address without <>");
  ExpectBad("*", AddrForm::kRoute, "Route address without <>");
}

TEST_F(NameAddrTest, ContactForms) {
  // §20.10.
  ASSERT_TRUE(P("\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>;q=0.7; expires=3600",
                AddrForm::kContact));
  EXPECT_EQ(na_.q, 700);
  EXPECT_EQ(na_.expires, 3600);
  EXPECT_FALSE(na_.expires_malformed);
  ASSERT_TRUE(P("\"Mr. Watson\" <mailto:watson@bell-telephone.com> ;q=0.1", AddrForm::kContact));
  EXPECT_EQ(na_.uri, "mailto:watson@bell-telephone.com");
  EXPECT_EQ(na_.q, 100);
  EXPECT_EQ(na_.expires, -1);
  ASSERT_TRUE(P("<sips:bob@192.0.2.4>;expires=60", AddrForm::kContact));
  EXPECT_EQ(na_.expires, 60);
  EXPECT_EQ(na_.q, -1);
  ASSERT_TRUE(P("*", AddrForm::kContact));
  EXPECT_TRUE(na_.star);
  EXPECT_EQ(na_.uri, "");
  ASSERT_TRUE(P(" * ", AddrForm::kContact));
  EXPECT_TRUE(na_.star);
  // Bare addr-spec: the params are the header's.
  ASSERT_TRUE(P("sip:a@h;expires=0;q=1", AddrForm::kContact));
  EXPECT_EQ(na_.uri, "sip:a@h");
  EXPECT_EQ(na_.expires, 0);
  EXPECT_EQ(na_.q, 1000);
  // RFC 4475 §3.1.2.4 scalarlg: a huge expires is taken as 2^32-1.
  ASSERT_TRUE(P("<sip:user@host129.example.com>;expires=280297596632815", AddrForm::kContact));
  EXPECT_EQ(na_.expires, 4294967295);
  EXPECT_FALSE(na_.expires_malformed);
  // A malformed expires counts as 3600 (§20.10) and is flagged.
  ASSERT_TRUE(P("<sip:a@h>;expires=soon", AddrForm::kContact));
  EXPECT_EQ(na_.expires, 3600);
  EXPECT_TRUE(na_.expires_malformed);
  ASSERT_TRUE(P("<sip:a@h>;expires", AddrForm::kContact));
  EXPECT_TRUE(na_.expires_malformed);
  // The first of repeated q/expires wins.
  ASSERT_TRUE(P("<sip:a@h>;q=0.2;q=0.9;expires=5;expires=7", AddrForm::kContact));
  EXPECT_EQ(na_.q, 200);
  EXPECT_EQ(na_.expires, 5);
  // Outbound contact (RFC 5626): a quoted +sip.instance holding '<' and '>'.
  ASSERT_TRUE(
      P("<sip:1042@192.0.2.10:50412;transport=tls;ob>;reg-id=1;+sip.instance=\"<urn:uuid:"
        "00000000-0000-1000-8000-001122334455>\"",
        AddrForm::kContact));
  std::string_view inst;
  EXPECT_TRUE(na_.param("+sip.instance", &inst));
  EXPECT_EQ(inst, "\"<urn:uuid:00000000-0000-1000-8000-001122334455>\"");
  EXPECT_TRUE(na_.param("reg-id", &inst));
  EXPECT_EQ(inst, "1");
  // "*" is only a Contact wildcard.
  ASSERT_TRUE(P("*"));  // a (meaningless) addr-spec elsewhere
  EXPECT_FALSE(na_.star);
  // The wildcard stands alone (§20.10: STAR, not a contact-param).
  ExpectBad("*;expires=0", AddrForm::kContact, "Bad Contact wildcard");
  ExpectBad("<*>", AddrForm::kContact, "Bad Contact wildcard");
}

TEST_F(NameAddrTest, QValues) {
  struct Case {
    const char* text;
    int q;  // -1: invalid
  } cases[] = {
      {"0", 0},     {"0.", 0},      {"0.5", 500},  {"0.05", 50},    {"0.123", 123}, {"0.001", 1},
      {"1", 1000},  {"1.", 1000},   {"1.0", 1000}, {"1.000", 1000}, {"1.5", -1},    {"1.001", -1},
      {"2", -1},    {"0.1234", -1}, {".5", -1},    {"", -1},        {"abc", -1},    {"0,5", -1},
      {"00.5", -1}, {"0.5x", -1},   {"-0.5", -1},  {"1.0000", -1},
  };
  for (const Case& c : cases) {
    int q = 42;
    const bool ok = parse_qvalue(c.text, &q);
    EXPECT_EQ(ok, c.q >= 0) << c.text;
    if (c.q >= 0) {
      EXPECT_EQ(q, c.q) << c.text;
    }
  }
  ExpectBad("<sip:a@h>;q=1.5", AddrForm::kContact, "Bad q value");
  ExpectBad("<sip:a@h>;q", AddrForm::kContact, "Bad q value");
  ExpectBad("<sip:a@h>;q=\"0.5\"", AddrForm::kContact, "Bad q value");
  EXPECT_EQ(na_.q, -1);
}

TEST_F(NameAddrTest, ErrorPaths) {
  for (AddrForm f : {AddrForm::kFromTo, AddrForm::kContact, AddrForm::kRoute}) {
    ExpectBad("", f, "Empty address");
    ExpectBad("   ", f, "Empty address");
    ExpectBad("<>", f, "Empty URI");
    ExpectBad("Bob <sip:a@b", f, "Missing '>'");
    ExpectBad("sip:a@b>", f, "Unexpected '>'");
    ExpectBad("\"a\\", f, "Unterminated quoted string");
    ExpectBad("<sip:a@b>, <sip:c@d>", f, "Junk after address");
    ExpectBad("<sip:a@b> junk", f, "Junk after address");
    ExpectBad("<sip:a@b>;tag=", f, "Bad parameter");
    ExpectBad("<sip:a@b>;", f, "Bad parameter");
    ExpectBad("<sip:a@b>;;tag=1", f, "Bad parameter");
    ExpectBad("<sip:a@b>;tag=\"x", f, "Bad parameter");
    ExpectBad("<sip:a@b>;=x", f, "Bad parameter");
  }
  ExpectBad(";tag=1", AddrForm::kFromTo, "Empty URI");
  ExpectBad("Bob sip:bob@h", AddrForm::kFromTo, "Bad addr-spec");
  ExpectBad("\"Bob\" sip:bob@h", AddrForm::kFromTo, "Bad addr-spec");
  // The parts parsed before the error are kept.
  EXPECT_FALSE(P("Bob <sip:a@b>;tag=1;x="));
  EXPECT_EQ(na_.uri, "sip:a@b");
  EXPECT_EQ(na_.tag, "1");
  // A null `why` is fine.
  EXPECT_FALSE(parse_name_addr("<>", AddrForm::kFromTo, &na_));
}

TEST_F(NameAddrTest, ParamLookupStopsAtBrokenParams) {
  // param() walks the params span of a parsed value; on a span that does not parse it stops.
  NameAddr na;
  na.params = ";a=1;;b=2";
  EXPECT_TRUE(na.param("a"));
  EXPECT_FALSE(na.param("b"));
  na.params = "junk";
  EXPECT_FALSE(na.param("junk"));
}

TEST_F(NameAddrTest, LongAndHostileInputsAreLinear) {
  std::string many = "<sip:a@b>";
  for (int i = 0; i < 50000; ++i) many += ";p" + std::to_string(i) + "=v";
  ASSERT_TRUE(P(many, AddrForm::kContact));
  EXPECT_TRUE(na_.param("p49999"));
  ExpectBad(std::string(100000, '"'), AddrForm::kFromTo, "Bad addr-spec");
  ExpectBad(std::string(100001, '"'), AddrForm::kFromTo, "Unterminated quoted string");
  ExpectBad(std::string(100000, '<'), AddrForm::kFromTo, "Missing '>'");
  ExpectBad(std::string(100000, ';'), AddrForm::kFromTo, "Empty URI");
}

}  // namespace
}  // namespace sipsd::sip
