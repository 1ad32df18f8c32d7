#include "core/sip/uri.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd::sip {
namespace {

// Parses a copy held in an exactly-sized heap buffer, so a read past the end is an ASan report
// in sanitizer builds. The views in *u point into *keep.
UriResult Parse(std::string_view text, Uri* u, std::unique_ptr<char[]>* keep) {
  *keep = std::make_unique<char[]>(text.size() + 1);
  memcpy(keep->get(), text.data(), text.size());
  return parse_uri(std::string_view(keep->get(), text.size()), u);
}

class UriTest : public ::testing::Test {
 protected:
  UriResult P(std::string_view text) { return Parse(text, &u_, &keep_); }
  void ExpectOk(std::string_view text) {
    const UriResult r = P(text);
    EXPECT_EQ(r.status, UriStatus::kOk) << text << ": " << r.reason;
    EXPECT_STREQ(r.reason, "OK");
  }
  void ExpectMalformed(std::string_view text, const char* reason) {
    const UriResult r = P(text);
    EXPECT_EQ(r.status, UriStatus::kMalformed) << text;
    EXPECT_STREQ(r.reason, reason) << text;
  }

  Uri u_;
  std::unique_ptr<char[]> keep_;
};

TEST_F(UriTest, Rfc3261Examples) {
  // RFC 3261 §19.1.3.
  ExpectOk("sip:alice@atlanta.com");
  EXPECT_EQ(u_.scheme, UriScheme::kSip);
  EXPECT_EQ(u_.scheme_text, "sip");
  EXPECT_EQ(u_.user, "alice");
  EXPECT_FALSE(u_.has_password);
  EXPECT_EQ(u_.host, "atlanta.com");
  EXPECT_FALSE(u_.host_is_ipv6);
  EXPECT_EQ(u_.port, 0);
  EXPECT_EQ(u_.params, "");
  EXPECT_EQ(u_.headers, "");

  ExpectOk("sip:alice:secretword@atlanta.com;transport=tcp");
  EXPECT_EQ(u_.user, "alice");
  EXPECT_TRUE(u_.has_password);
  EXPECT_EQ(u_.password, "secretword");
  EXPECT_EQ(u_.params, ";transport=tcp");
  std::string_view v;
  EXPECT_TRUE(u_.param("transport", &v));
  EXPECT_EQ(v, "tcp");

  ExpectOk("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
  EXPECT_EQ(u_.scheme, UriScheme::kSips);
  EXPECT_EQ(u_.headers, "?subject=project%20x&priority=urgent");
  EXPECT_TRUE(u_.header("Subject", &v));
  EXPECT_EQ(v, "project%20x");
  EXPECT_TRUE(u_.header("priority", &v));
  EXPECT_EQ(v, "urgent");
  EXPECT_FALSE(u_.header("to"));

  ExpectOk("sip:+1-212-555-1212:1234@gateway.com;user=phone");
  EXPECT_EQ(u_.user, "+1-212-555-1212");
  EXPECT_EQ(u_.password, "1234");
  EXPECT_TRUE(u_.param("user", &v));
  EXPECT_EQ(v, "phone");

  ExpectOk("sips:1212@gateway.com");
  ExpectOk("sip:alice@192.0.2.4");
  EXPECT_EQ(u_.host, "192.0.2.4");

  ExpectOk("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
  EXPECT_EQ(u_.user, "");
  EXPECT_EQ(u_.host, "atlanta.com");
  EXPECT_EQ(u_.params, ";method=REGISTER");
  EXPECT_EQ(u_.headers, "?to=alice%40atlanta.com");

  ExpectOk("sip:alice;day=tuesday@atlanta.com");
  EXPECT_EQ(u_.user, "alice;day=tuesday");
  EXPECT_EQ(u_.host, "atlanta.com");
  EXPECT_EQ(u_.params, "");
}

TEST_F(UriTest, SchemeIsCaseInsensitive) {
  ExpectOk("SIP:Bob@Biloxi.Example.COM:5060");
  EXPECT_EQ(u_.scheme, UriScheme::kSip);
  EXPECT_EQ(u_.scheme_text, "SIP");
  EXPECT_EQ(u_.host, "Biloxi.Example.COM");
  EXPECT_EQ(u_.port, 5060);
  ExpectOk("SiPs:h");
  EXPECT_EQ(u_.scheme, UriScheme::kSips);
  ExpectOk("TEL:+12");
  EXPECT_EQ(u_.scheme, UriScheme::kTel);
}

TEST_F(UriTest, Rfc4475Uris) {
  // §3.1.1.9 semiuri: ';' before '@' belongs to the user.
  ExpectOk("sip:user;par=u%40example.net@example.com");
  EXPECT_EQ(u_.user, "user;par=u%40example.net");
  EXPECT_EQ(u_.host, "example.com");
  EXPECT_EQ(u_.params, "");
  // §3.1.1.2 intmeth: every user/password character the grammar allows.
  ExpectOk(
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
      "(doesn't-it)@example.com");
  EXPECT_EQ(u_.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(u_.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(u_.host, "example.com");
  // §3.1.1.4 esc01: escapes stay as received.
  ExpectOk("sip:sips%3Auser%40example.com@example.net");
  EXPECT_EQ(u_.user, "sips%3Auser%40example.com");
  ExpectOk("sip:%75se%72@example.com");
  EXPECT_EQ(u_.user, "%75se%72");
  ExpectOk("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
  EXPECT_EQ(u_.params, ";%6C%72;n%61me=v%61lue%25%34%31");
  EXPECT_TRUE(u_.param("n%61me"));
  // §3.1.1.5 escnull: an escaped NUL is legal in a user.
  ExpectOk("sip:null-%00-null@example.com");
  ExpectOk("sip:%00%00@host5.example.com");
  // §3.1.1.1 wsinv: an unknown flag parameter.
  ExpectOk("sip:vivekg@chair-dnrc.example.com;unknownparam");
  std::string_view flag = "unchanged";
  EXPECT_TRUE(u_.param("unknownparam", &flag));
  EXPECT_EQ(flag, "");
  // §3.1.2.10 lwsruri, §3.1.2.11 ltgtruri.
  ExpectMalformed("sip:user@example.com; lr", "Bad URI parameter");
  ExpectMalformed("<sip:user@example.com>", "No URI scheme");
  // Escaped headers are legal in a URI; a raw '<' is not.
  ExpectOk("sip:user@example.com?Route=%3Csip:example.com%3E");
  ExpectMalformed("sip:user@example.com?Route=<sip:example.com>", "Bad URI header");
}

TEST_F(UriTest, Rfc5118Ipv6) {
  ExpectOk("sip:[2001:db8::10]");
  EXPECT_TRUE(u_.host_is_ipv6);
  EXPECT_EQ(u_.host, "2001:db8::10");
  EXPECT_EQ(u_.port, 0);
  ExpectOk("sip:[2001:db8::10]:5070");
  EXPECT_EQ(u_.host, "2001:db8::10");
  EXPECT_EQ(u_.port, 5070);
  // §4.4: the last group is part of the address, not a port.
  ExpectOk("sip:[2001:db8::10:5070]");
  EXPECT_EQ(u_.host, "2001:db8::10:5070");
  EXPECT_EQ(u_.port, 0);
  ExpectOk("sip:user@[2001:db8::10]:5061;transport=tls");
  ExpectOk("sip:[::ffff:192.0.2.1]");
  ExpectOk("sip:[2001:db8::192.0.2.1]");
  ExpectOk("sip:[2001:db8::9:1];maddr=[2001:db8::9:255]");
  std::string_view maddr;
  EXPECT_TRUE(u_.param("maddr", &maddr));
  EXPECT_EQ(maddr, "[2001:db8::9:255]");
  // §4.1 ipv6-bad: no brackets.
  ExpectMalformed("sip:user@2001:db8::10", "Bad URI port");
  ExpectMalformed("sip:[2001:db8::10", "Bad IPv6 reference");
  ExpectMalformed("sip:[2001:db8:::10]", "Bad IPv6 reference");
  ExpectMalformed("sip:[]", "Bad IPv6 reference");
  ExpectMalformed("sip:[192.0.2.1]", "Bad IPv6 reference");
  ExpectMalformed("sip:[2001:db8::10]x", "Bad character after URI host");
  // Found by uri_fuzz: inet_pton stops at a NUL, so the text after it must be refused here.
  ExpectMalformed(std::string_view("sip:[2001:db8::\0\t<junk>]", 24), "Bad IPv6 reference");
  ExpectMalformed("sip:[2001:db8::%eth0]", "Bad IPv6 reference");
  std::string long_v6 = "sip:[" + std::string(100, '1') + "]";
  ExpectMalformed(long_v6, "Bad IPv6 reference");
}

TEST_F(UriTest, ParamLookup) {
  ExpectOk("sip:192.0.2.10:5062;transport=TLS;r2=on;lr;ftag=a1;Maddr=10.0.0.1;ob;user=ip");
  std::string_view v = "unchanged";
  EXPECT_TRUE(u_.param("lr", &v));
  EXPECT_EQ(v, "");
  EXPECT_TRUE(u_.param("LR"));
  EXPECT_TRUE(u_.param("transport", &v));
  EXPECT_EQ(v, "TLS");
  EXPECT_TRUE(u_.param("r2", &v));
  EXPECT_EQ(v, "on");
  EXPECT_TRUE(u_.param("ftag", &v));
  EXPECT_EQ(v, "a1");
  EXPECT_TRUE(u_.param("maddr", &v));
  EXPECT_EQ(v, "10.0.0.1");
  EXPECT_TRUE(u_.param("ob", &v));
  EXPECT_EQ(v, "");
  EXPECT_TRUE(u_.param("user", &v));
  EXPECT_EQ(v, "ip");
  v = "unchanged";
  EXPECT_FALSE(u_.param("ttl", &v));
  EXPECT_EQ(v, "unchanged");
  EXPECT_FALSE(u_.param("l"));  // no prefix match
  EXPECT_FALSE(u_.param("lrx"));
  // The first of repeated names wins.
  ExpectOk("sip:h;transport=udp;transport=tcp");
  EXPECT_TRUE(u_.param("transport", &v));
  EXPECT_EQ(v, "udp");
}

TEST_F(UriTest, ParamCursor) {
  ExpectOk("sip:h;a=1;b;c=3?x=1&y=&z=3");
  std::vector<std::string> seen;
  UriParam p;
  for (UriParamCursor c(u_.params); c.next(&p);)
    seen.push_back(std::string(p.name) + "|" + std::string(p.value));
  EXPECT_EQ(seen, (std::vector<std::string>{"a|1", "b|", "c|3"}));
  seen.clear();
  for (UriParamCursor c(u_.headers); c.next(&p);)
    seen.push_back(std::string(p.name) + "|" + std::string(p.value));
  EXPECT_EQ(seen, (std::vector<std::string>{"x|1", "y|", "z|3"}));
  UriParamCursor empty("");
  EXPECT_FALSE(empty.next(&p));
  // '&' is a paramchar: it does not split parameters.
  ExpectOk("sip:h;a=1&2");
  UriParamCursor amp(u_.params);
  ASSERT_TRUE(amp.next(&p));
  EXPECT_EQ(p.value, "1&2");
  EXPECT_FALSE(amp.next(&p));
}

TEST_F(UriTest, Tel) {
  ExpectOk("tel:+1-212-555-1212");
  EXPECT_EQ(u_.scheme, UriScheme::kTel);
  EXPECT_EQ(u_.user, "+1-212-555-1212");
  EXPECT_EQ(u_.host, "");
  ExpectOk("tel:7042;phone-context=example.com");
  EXPECT_EQ(u_.user, "7042");
  std::string_view v;
  EXPECT_TRUE(u_.param("phone-context", &v));
  EXPECT_EQ(v, "example.com");
  ExpectOk("tel:*21#");
  ExpectOk("tel:%2B1(555)123.4567");
  ExpectMalformed("tel:", "Bad telephone number");
  ExpectMalformed("tel:;phone-context=x", "Bad telephone number");
  ExpectMalformed("tel:12 34", "Bad telephone number");
  ExpectMalformed("tel:12@h", "Bad telephone number");
  ExpectMalformed("tel:%2", "Bad telephone number");
  ExpectMalformed("tel:1;", "Bad URI parameter");
}

TEST_F(UriTest, UnsupportedScheme) {
  for (std::string_view s :
       {"http://example.com/", "mailto:a@b", "urn:service:sos", "im:a@b", "s:x", "sipx:a@b"}) {
    const UriResult r = P(s);
    EXPECT_EQ(r.status, UriStatus::kUnsupportedScheme) << s;
    EXPECT_STREQ(r.reason, "Unsupported URI scheme");
    EXPECT_FALSE(r.ok());
  }
}

TEST_F(UriTest, ErrorPaths) {
  ExpectMalformed("", "No URI scheme");
  ExpectMalformed("sip", "No URI scheme");
  ExpectMalformed("1sip:a@b", "No URI scheme");
  ExpectMalformed("si p:a@b", "No URI scheme");
  ExpectMalformed(":a@b", "No URI scheme");

  ExpectMalformed("sip:@h", "Bad URI user");
  ExpectMalformed("sip::pw@h", "Bad URI user");
  ExpectMalformed("sip:a b@h", "Bad URI user");
  ExpectMalformed("sip:a%zz@h", "Bad URI user");
  ExpectMalformed("sip:a%4@h", "Bad URI user");
  ExpectMalformed("sip:a%@h", "Bad URI user");
  ExpectMalformed("sip:a\"b@h", "Bad URI user");
  ExpectMalformed("sip:a<b@h", "Bad URI user");

  ExpectMalformed("sip:a:p;w@h", "Bad URI password");
  ExpectMalformed("sip:a:p?w@h", "Bad URI password");
  ExpectMalformed("sip:a:p%g0@h", "Bad URI password");
  ExpectOk("sip:a:@h");  // an empty password is legal
  EXPECT_TRUE(u_.has_password);
  EXPECT_EQ(u_.password, "");

  ExpectMalformed("sip:", "Bad URI host");
  ExpectMalformed("sip:a@", "Bad URI host");
  ExpectMalformed("sip:a..b", "Bad URI host");
  ExpectMalformed("sip:.a", "Bad URI host");
  ExpectMalformed("sip:-a.com", "Bad URI host");
  ExpectMalformed("sip:a-.com", "Bad URI host");
  ExpectMalformed("sip:a.-b.com", "Bad URI host");
  ExpectMalformed("sip:;lr", "Bad URI host");
  ExpectOk("sip:example.com.");  // a trailing dot is legal
  ExpectOk("sip:under_score.example.com");
  ExpectOk("sip:a-b.c");

  ExpectMalformed("sip:h:", "Bad URI port");
  ExpectMalformed("sip:h:0", "Bad URI port");
  ExpectMalformed("sip:h:65536", "Bad URI port");
  ExpectMalformed("sip:h:123456", "Bad URI port");
  ExpectMalformed("sip:h:99999999999999999999999", "Bad URI port");
  ExpectMalformed("sip:h:;lr", "Bad URI port");
  ExpectOk("sip:h:65535");
  EXPECT_EQ(u_.port, 65535);
  ExpectOk("sip:h:00001");
  EXPECT_EQ(u_.port, 1);

  ExpectMalformed("sip:h:5060x", "Bad character after URI host");
  ExpectMalformed("sip:h>", "Bad character after URI host");
  ExpectMalformed("sip:h x", "Bad character after URI host");
  ExpectMalformed("sip:h\r\nVia: x", "Bad character after URI host");
  ExpectMalformed("sip:a@b@c", "Bad character after URI host");
  ExpectMalformed(std::string_view("sip:h\0x", 7), "Bad character after URI host");

  ExpectMalformed("sip:h;", "Bad URI parameter");
  ExpectMalformed("sip:h;;lr", "Bad URI parameter");
  ExpectMalformed("sip:h;lr;", "Bad URI parameter");
  ExpectMalformed("sip:h;a=", "Bad URI parameter");
  ExpectMalformed("sip:h;=a", "Bad URI parameter");
  ExpectMalformed("sip:h;a=b=c", "Bad URI parameter");
  ExpectMalformed("sip:h;a b", "Bad URI parameter");
  ExpectMalformed("sip:h;a=\"b\"", "Bad URI parameter");
  ExpectMalformed("sip:h;a=%", "Bad URI parameter");

  ExpectMalformed("sip:h?", "Bad URI header");
  ExpectMalformed("sip:h?a", "Bad URI header");
  ExpectMalformed("sip:h?=b", "Bad URI header");
  ExpectMalformed("sip:h?a=b&", "Bad URI header");
  ExpectMalformed("sip:h?a=b c", "Bad URI header");
  ExpectMalformed("sip:h?a=b;c", "Bad URI header");
  ExpectOk("sip:h?a=");  // an empty hvalue is legal
}

TEST_F(UriTest, PrefixesAndLongInputsAreSafe) {
  // Every prefix of a rich URI parses or fails cleanly (exact-size copies: ASan sees over-reads).
  const std::string full =
      "sips:us%65r:pa$$@[2001:db8::1]:5061;transport=tls;lr;maddr=[2001:db8::2]?h=v&i=%41";
  for (size_t n = 0; n <= full.size(); ++n) P(std::string_view(full).substr(0, n));
  ExpectOk(full);
  // Long runs stay linear and are accepted when well-formed.
  const std::string long_user = "sip:" + std::string(200000, 'u') + "@h";
  ExpectOk(long_user);
  std::string many_params = "sip:h";
  for (int i = 0; i < 20000; ++i) many_params += ";p" + std::to_string(i);
  ExpectOk(many_params);
  EXPECT_TRUE(u_.param("p19999"));
  ExpectMalformed("sip:" + std::string(100000, '@'), "Bad URI user");
}

// ---- writer -------------------------------------------------------------------------------

TEST_F(UriTest, AppendRoundTrips) {
  for (std::string_view s :
       {"sip:alice@atlanta.com", "sip:alice:secretword@atlanta.com;transport=tcp",
        "sips:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:[2001:db8::10]:5070;lr",
        "sip:a:@h", "tel:+1-212-555-1212;phone-context=x",
        "sip:user;par=u%40example.net@example.com", "sip:h.example.com.:1"}) {
    ExpectOk(s);
    std::string out = "prefix ";
    ASSERT_TRUE(append_uri(u_, &out)) << s;
    EXPECT_EQ(out, "prefix " + std::string(s));
  }
  ExpectOk("SIPS:x@Y");
  std::string out;
  ASSERT_TRUE(append_uri(u_, &out));
  EXPECT_EQ(out, "sips:x@Y");  // scheme written in lower case
}

TEST_F(UriTest, AppendWithChangedParts) {
  // A Record-Route URI built from a Contact's: host and port replaced, params rewritten.
  ExpectOk("sip:alice@192.0.2.4:5060;transport=udp?x=y");
  Uri rr = u_;
  rr.user = {};
  rr.host = "2001:db8::10";
  rr.host_is_ipv6 = true;
  rr.port = 5061;
  rr.params = ";transport=tls;r2=on;lr;ftag=a1";
  rr.headers = {};
  std::string out;
  ASSERT_TRUE(append_uri(rr, &out));
  EXPECT_EQ(out, "sip:[2001:db8::10]:5061;transport=tls;r2=on;lr;ftag=a1");
  Uri back;
  ASSERT_TRUE(parse_uri(out, &back).ok());
  EXPECT_EQ(back.host, "2001:db8::10");
  EXPECT_TRUE(back.param("r2"));

  Uri plain;
  plain.host = "edge.example.com";
  out.clear();
  ASSERT_TRUE(append_uri(plain, &out));
  EXPECT_EQ(out, "sip:edge.example.com");
}

TEST_F(UriTest, AppendRejectsPartsThatWouldNotParseBack) {
  ExpectOk("sip:alice@h");
  const Uri good = u_;
  struct Case {
    const char* what;
    void (*change)(Uri*);
  } cases[] = {
      {"CRLF in host", [](Uri* u) { u->host = "h\r\nVia: x"; }},
      {"empty host", [](Uri* u) { u->host = ""; }},
      {"bad IPv6",
       [](Uri* u) {
         u->host = "h";
         u->host_is_ipv6 = true;
       }},
      {"'>' in user", [](Uri* u) { u->user = "a>"; }},
      {"space in user", [](Uri* u) { u->user = "a b"; }},
      {"password without user",
       [](Uri* u) {
         u->user = "";
         u->has_password = true;
       }},
      {"bad password",
       [](Uri* u) {
         u->has_password = true;
         u->password = "a@b";
       }},
      {"params without ';'", [](Uri* u) { u->params = "lr"; }},
      {"CRLF in params", [](Uri* u) { u->params = ";lr\r\n"; }},
      {"headers without '?'", [](Uri* u) { u->headers = "a=b"; }},
      {"bad tel",
       [](Uri* u) {
         u->scheme = UriScheme::kTel;
         u->user = "12 3";
       }},
  };
  for (const Case& c : cases) {
    Uri u = good;
    c.change(&u);
    std::string out = "keep";
    EXPECT_FALSE(append_uri(u, &out)) << c.what;
    EXPECT_EQ(out, "keep") << c.what;
  }
}

// add_path_received()'s ;received= value: a URI escaped into a parameter and back.
TEST(UriParamValue, EscapesWhatAParameterCannotHoldAndBack) {
  const std::string src = "sip:[2001:db8::1]:5061;transport=tls";
  const std::string esc = escape_param_value(src);
  EXPECT_EQ(esc, "sip:[2001:db8::1]:5061%3Btransport%3Dtls");
  const std::string route = "sip:h;received=" + esc + ";lr";  // Uri views it
  Uri u;
  ASSERT_TRUE(parse_uri(route, &u).ok());
  std::string_view got;
  ASSERT_TRUE(u.param("received", &got));
  EXPECT_EQ(unescape_param_value(got), src);
  EXPECT_EQ(unescape_param_value("a%3bb%zz%4"), "a;b%zz%4");  // a bad escape stays as it is
}

}  // namespace
}  // namespace sipsd::sip
