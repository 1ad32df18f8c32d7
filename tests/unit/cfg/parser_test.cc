#include "core/cfg/parser.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/cfg/config.h"
#include "core/cfg/did_you_mean.h"

namespace sipsd::cfg {
namespace {

// Parses every top-level item; returns the error text ("" when none).
struct Parsed {
  std::vector<Item> items;
  std::string errors;
};

Parsed parse(std::string_view text) {
  Parsed p;
  Result<CfgSource> src = CfgSource::from_text(text, "p.cfg");
  if (!src.ok()) {
    p.errors = src.message();
    return p;
  }
  CfgDiag diag(*src);
  Parser parser(*src, diag);
  Item item;
  while (parser.next(&item)) p.items.push_back(std::move(item));
  p.errors = diag.error_text();
  return p;
}

// The first line of the error text of a whole load (what users see first).
std::string first_error(std::string_view text) {
  Result<Config> cfg = load_config_text(text, "p.cfg");
  if (cfg.ok()) return "";
  const std::string& m = cfg.message();
  return m.substr(0, m.find('\n'));
}

std::string all_errors(std::string_view text) {
  Result<Config> cfg = load_config_text(text, "p.cfg");
  return cfg.ok() ? "" : cfg.message();
}

constexpr const char* kHead = "loadmodule \"proto_tcp.so\"\nsocket = tcp:127.0.0.1:5060\n";

TEST(CfgParser, TopLevelItems) {
  Parsed p = parse(
      "log_level = -1\nuser = \"sip\"\ngroup = sip\nmpath = \"/usr/lib/\"\n"
      "loadmodule \"/x/y/proto_tls.so\"\nmodparam(\"tls_mgm\", \"ca_list\", \"a\" 'b')\n"
      "modparam(\"proto_tls\", \"tls_port\", -5)\n"
      "route[\"r1\"] { exit; }\n");
  ASSERT_EQ(p.errors, "");
  ASSERT_EQ(p.items.size(), 8u);
  const auto& ll = std::get<CoreAssign>(p.items[0]);
  EXPECT_EQ(ll.name, "log_level");
  EXPECT_EQ(ll.value.kind, Value::Kind::kNumber);
  EXPECT_EQ(ll.value.num, -1);
  EXPECT_EQ(std::get<CoreAssign>(p.items[1]).value.kind, Value::Kind::kString);
  EXPECT_EQ(std::get<CoreAssign>(p.items[2]).value.kind, Value::Kind::kId);
  EXPECT_EQ(std::get<Mpath>(p.items[3]).value.str, "/usr/lib/");
  EXPECT_EQ(std::get<LoadModule>(p.items[4]).path, "/x/y/proto_tls.so");
  const auto& mp = std::get<ModParam>(p.items[5]);
  EXPECT_EQ(mp.module, "tls_mgm");
  EXPECT_EQ(mp.param, "ca_list");
  EXPECT_EQ(mp.value.str, "ab");  // adjacent strings joined for modparam values
  EXPECT_EQ(std::get<ModParam>(p.items[6]).value.num, -5);
  const auto& r = std::get<RouteDef>(p.items[7]);
  EXPECT_EQ(r.kind, "route");
  EXPECT_TRUE(r.has_name);
  EXPECT_EQ(r.name.str, "r1");
  ASSERT_EQ(r.body.size(), 1u);
  EXPECT_EQ(r.body[0].call.name, "exit");
}

// && and || have the same precedence and associate left: a || b && c is (a || b) && c.
TEST(CfgParser, AndOrSamePrecedenceLeftAssociative) {
  Parsed p = parse("route { if ($rm || $ru && $si or $sp and not $ci) exit; }");
  ASSERT_EQ(p.errors, "");
  const Expr& e = *std::get<RouteDef>(p.items[0]).body[0].cond;
  // ((((rm || ru) && si) || sp) && !ci)
  ASSERT_EQ(e.kind, Expr::Kind::kAnd);
  EXPECT_EQ(e.rhs->kind, Expr::Kind::kNot);
  EXPECT_EQ(e.rhs->lhs->text, "$ci");
  const Expr& l1 = *e.lhs;
  ASSERT_EQ(l1.kind, Expr::Kind::kOr);
  EXPECT_EQ(l1.rhs->text, "$sp");
  const Expr& l2 = *l1.lhs;
  ASSERT_EQ(l2.kind, Expr::Kind::kAnd);
  EXPECT_EQ(l2.rhs->text, "$si");
  const Expr& l3 = *l2.lhs;
  ASSERT_EQ(l3.kind, Expr::Kind::kOr);
  EXPECT_EQ(l3.lhs->text, "$rm");
  EXPECT_EQ(l3.rhs->text, "$ru");
}

TEST(CfgParser, NotBindsToAComparisonAndParensGroup) {
  Parsed p = parse("route { if (!$rm == \"A\" || ($si != NULL && !is_method(\"X\"))) drop; }");
  ASSERT_EQ(p.errors, "");
  const Expr& e = *std::get<RouteDef>(p.items[0]).body[0].cond;
  ASSERT_EQ(e.kind, Expr::Kind::kOr);
  ASSERT_EQ(e.lhs->kind, Expr::Kind::kNot);
  EXPECT_EQ(e.lhs->lhs->kind, Expr::Kind::kCmp);
  EXPECT_EQ(e.lhs->lhs->rhs->text, "A");
  ASSERT_EQ(e.rhs->kind, Expr::Kind::kAnd);
  EXPECT_EQ(e.rhs->lhs->rhs->kind, Expr::Kind::kNull);
  EXPECT_EQ(e.rhs->rhs->lhs->kind, Expr::Kind::kCall);
  EXPECT_EQ(e.rhs->rhs->lhs->call.name, "is_method");
}

TEST(CfgParser, StatementsAndElseIfChains) {
  Parsed p = parse(
      "route {\n"
      "  ;\n"
      "  if ($rm == \"A\") { xlog(\"a\"); } else if ($rm == \"B\") xlog(\"b\"); "
      "else { exit(); }\n"
      "  { drop(); }\n"
      "  return(-2);\n"
      "  return 3;\n"
      "  return;\n"
      "  route(sub);\n"
      "}\n");
  ASSERT_EQ(p.errors, "");
  const auto& body = std::get<RouteDef>(p.items[0]).body;
  ASSERT_EQ(body.size(), 6u);
  EXPECT_EQ(body[0].kind, Stmt::Kind::kIf);
  ASSERT_EQ(body[0].else_body.size(), 1u);
  EXPECT_EQ(body[0].else_body[0].kind, Stmt::Kind::kIf);
  EXPECT_EQ(body[0].else_body[0].else_body[0].kind, Stmt::Kind::kBlock);
  EXPECT_EQ(body[1].kind, Stmt::Kind::kBlock);
  EXPECT_EQ(body[2].call.args[0].num, -2);
  EXPECT_EQ(body[3].call.args[0].num, 3);
  EXPECT_TRUE(body[4].call.args.empty());
  EXPECT_EQ(body[5].call.name, "route");
  EXPECT_EQ(body[5].call.args[0].kind, Expr::Kind::kId);
}

TEST(CfgParser, XlogJoinsAdjacentStringsOtherCallsDoNot) {
  Parsed p = parse("route { xlog(\"L_INFO\", \"a\" \"b\"); }");
  ASSERT_EQ(p.errors, "");
  EXPECT_EQ(std::get<RouteDef>(p.items[0]).body[0].call.args[1].text, "ab");
  p = parse("route { is_method(\"A\" \"B\"); }");
  EXPECT_NE(p.errors.find("p.cfg:1:23: syntax error: ',' or ')' in the parameters of <is_method> "
                          "expected, got string \"B\""),
            std::string::npos)
      << p.errors;
}

TEST(CfgParser, EmptyArgumentSlots) {
  Parsed p = parse("route { f(\"a\", , 3); g(); }");
  ASSERT_EQ(p.errors, "");
  const auto& body = std::get<RouteDef>(p.items[0]).body;
  ASSERT_EQ(body[0].call.args.size(), 3u);
  EXPECT_EQ(body[0].call.args[1].kind, Expr::Kind::kEmpty);
  EXPECT_TRUE(body[1].call.args.empty());
}

TEST(CfgParser, MissingSemicolon) {
  std::string text = std::string(kHead) +
                     "loadmodule \"sl.so\"\n"
                     "route {\n"
                     "\tif ($rm == \"INVITE\") {\n"
                     "\t\tsl_send_reply(404, \"x\")\n"
                     "\t}\n"
                     "}\n";
  // Reported just after the call, where the ';' belongs.
  EXPECT_EQ(all_errors(text),
            "p.cfg:6:26: bad command: missing ';'?\n"
            "    \t\tsl_send_reply(404, \"x\")\n"
            "    \t\t                       ^");
}

TEST(CfgParser, UnknownCoreParameterSuggestsAndContinues) {
  std::string errors = all_errors(std::string(kHead) +
                                  "    tcp_worker = 4\nlog_levl = 3\n"
                                  "timer_workers = 2\n");
  EXPECT_EQ(errors,
            "p.cfg:3:5: unknown core parameter 'tcp_worker' (did you mean 'tcp_workers'?)\n"
            "        tcp_worker = 4\n"
            "        ^~~~~~~~~~\n"
            "p.cfg:4:1: unknown core parameter 'log_levl' (did you mean 'log_level'?)\n"
            "p.cfg:5:1: OpenSIPS's core parameter 'timer_workers' is not supported by sipsd");
}

TEST(CfgParser, UnknownFunctionSuggests) {
  EXPECT_EQ(first_error(std::string(kHead) + "loadmodule \"sl.so\"\nroute {\n"
                                             "  sl_send_replay(404, \"x\");\n}\n"),
            "p.cfg:5:3: unknown command <sl_send_replay>, missing loadmodule? (did you mean "
            "'sl_send_reply'?)");
  EXPECT_EQ(first_error(std::string(kHead) + "route { t_relay(); }"),
            "p.cfg:3:9: unknown command <t_relay>, missing loadmodule \"tm.so\"?");
  EXPECT_EQ(first_error(std::string(kHead) + "route { save(\"location\"); }"),
            "p.cfg:3:9: unknown command <save>, missing loadmodule \"registrar.so\"?");
  EXPECT_EQ(first_error(std::string(kHead) + "route { nat_uac_test(\"1\"); }"),
            "p.cfg:3:9: OpenSIPS's function nat_uac_test() (module nathelper) is not supported by "
            "sipsd");
}

TEST(CfgParser, FunctionNeedsItsModuleLoadedFirst) {
  EXPECT_EQ(first_error(std::string(kHead) + "route { if (is_method(\"INVITE\")) exit; }\n"
                                             "loadmodule \"sipmsgops.so\"\n"),
            "p.cfg:3:13: unknown command <is_method>, missing loadmodule \"sipmsgops.so\"?");
  EXPECT_EQ(first_error(std::string(kHead) + "route { sl_send_reply(404, \"x\"); }"),
            "p.cfg:3:9: unknown command <sl_send_reply>, missing loadmodule \"sl.so\"?");
}

TEST(CfgParser, ParameterCounts) {
  std::string head = std::string(kHead) + "loadmodule \"sl.so\"\nloadmodule \"sipmsgops.so\"\n";
  EXPECT_EQ(first_error(head + "route { sl_send_reply(404); }"),
            "p.cfg:5:9: too few parameters for command <sl_send_reply>");
  EXPECT_EQ(first_error(head + "route { is_method(\"A\", \"B\"); }"),
            "p.cfg:5:9: too many parameters for command <is_method>");
  EXPECT_EQ(first_error(head + "route { xlog(); }"),
            "p.cfg:5:9: too few parameters for command <xlog>");
  EXPECT_EQ(first_error(head + "route { sl_send_reply(, \"x\"); }"),
            "p.cfg:5:23: parameter 1 of command <sl_send_reply> is missing");
  EXPECT_EQ(first_error(head + "route { exit(1); }"),
            "p.cfg:5:9: too many parameters for command <exit>");
}

TEST(CfgParser, UnsupportedThingsAreErrorsNotNoOps) {
  std::string h = kHead;
  EXPECT_EQ(first_error(h + "route { for ($var(x) in $avp(y)) { exit; } }"),
            "p.cfg:3:9: 'for' statements are not supported yet");
  EXPECT_EQ(first_error(h + "route { async(t_relay(), resume); }"),
            "p.cfg:3:9: 'async' statements are not supported yet");
  EXPECT_EQ(first_error(h + "route { $var(x) = 1 & 2; }"),
            "p.cfg:3:21: bitwise operator '&' is not supported yet");
  EXPECT_EQ(first_error(h + "route { $var(x) |= 2; }"),
            "p.cfg:3:17: assignment operator '|=' is not supported yet");
  EXPECT_EQ(first_error(h + "route { if ($si == 10.0.0.1) exit; }"),
            "p.cfg:3:20: IP address comparisons are not supported yet; compare with a string "
            "instead ($si == \"10.0.0.1\")");
  EXPECT_EQ(first_error(h + "route { if ($foo == \"x\") exit; }"),
            "p.cfg:3:13: unknown script variable '$foo'");
  EXPECT_EQ(first_error(h + "route { if ($(hdr(From)[*])) exit; }"),
            "p.cfg:3:13: '$(hdr(From)[*])': the index [*] is not supported yet");
}

TEST(CfgParser, StatementsOfTheFullLanguage) {
  Parsed p = parse(
      "route {\n"
      "  $var(x) = 1 + $var(y) * 2;\n"
      "  $avp(a) += \"s\";\n"
      "  while ($var(x) < 10) { $var(x) += 1; if ($var(x) == 5) break; }\n"
      "  switch ($rm) { case \"A\": xlog(\"a\"); break; case -1: default: exit; }\n"
      "  route(sub, 1, \"two\", $var(x));\n"
      "  return($var(x) + 1);\n"
      "}\n"
      "timer_route[t, 30] { exit; }\n");
  ASSERT_EQ(p.errors, "");
  const auto& body = std::get<RouteDef>(p.items[0]).body;
  ASSERT_EQ(body.size(), 6u);
  EXPECT_EQ(body[0].kind, Stmt::Kind::kAssign);
  EXPECT_EQ(body[0].assign_text, "=");
  ASSERT_EQ(body[0].value->kind, Expr::Kind::kArith);  // (1 + $var(y)) * 2: one level
  EXPECT_EQ(body[0].value->op, Tok::kStar);
  EXPECT_EQ(body[1].assign_text, "+=");
  EXPECT_EQ(body[2].kind, Stmt::Kind::kWhile);
  EXPECT_EQ(body[2].body.size(), 1u);
  EXPECT_EQ(body[3].kind, Stmt::Kind::kSwitch);
  ASSERT_EQ(body[3].cases.size(), 3u);
  EXPECT_EQ(body[3].cases[0].label.text, "A");
  EXPECT_EQ(body[3].cases[1].label.num, -1);
  EXPECT_TRUE(body[3].cases[2].is_default);
  EXPECT_EQ(body[3].cases[1].first, 2u);
  EXPECT_EQ(body[3].cases[2].first, 2u);
  EXPECT_EQ(body[4].call.args.size(), 4u);
  EXPECT_EQ(body[5].call.name, "return");
  EXPECT_EQ(body[5].call.args[0].kind, Expr::Kind::kArith);
  const auto& t = std::get<RouteDef>(p.items[1]);
  EXPECT_TRUE(t.has_interval);
  EXPECT_EQ(t.interval, 30);
}

TEST(CfgParser, SyntaxErrors) {
  std::string h = kHead;
  EXPECT_EQ(first_error(h + "route { exit }"), "p.cfg:3:13: bad command: missing ';'?");
  EXPECT_EQ(first_error(h + "route { foo; }"),
            "p.cfg:3:9: bare word <foo> found, command calls need '()'");
  EXPECT_EQ(first_error(h + "route { else exit; }"),
            "p.cfg:3:9: syntax error: 'else' without a matching 'if'");
  EXPECT_EQ(first_error(h + "route { if $rm exit; }"),
            "p.cfg:3:12: syntax error: '(' after 'if' expected, got '$rm'");
  EXPECT_EQ(first_error(h + "route { if ($rm = \"A\") exit; }"),
            "p.cfg:3:17: '=' is an assignment; use '==' to compare");
  EXPECT_EQ(first_error(h + "route { if ($rm == INVITE) exit; }"),
            "p.cfg:3:20: bare word 'INVITE' after '==': quote strings (\"INVITE\")");
  EXPECT_EQ(first_error(h + "route { if (\"A\" == $rm) exit; }"),
            "p.cfg:3:13: the left side of a comparison must be a script variable ($rm, $si, ...)");
  EXPECT_EQ(first_error(h + "route {\n  exit;\n"),
            "p.cfg:4:8: syntax error: '}' expected before the end of the file (to close the block "
            "opened at p.cfg:3:7)");
  EXPECT_EQ(first_error(h + "}"), "p.cfg:3:1: syntax error: unexpected '}' (no block is open)");
  EXPECT_EQ(first_error(h + "tcp_workers 4"),
            "p.cfg:3:13: syntax error: '=' after 'tcp_workers' expected, got number 4");
  EXPECT_EQ(first_error(h + "if ($rm) exit;"),
            "p.cfg:3:1: 'if' is only allowed inside a route block");
  EXPECT_EQ(first_error(h + "rout { exit; }"),
            "p.cfg:3:1: unknown route kind 'rout' (did you mean 'route'?)");
  EXPECT_EQ(first_error(h + "modparam(\"sl\", \"x\", foo)"),
            "p.cfg:3:21: modparam value must be a number or a quoted string, got the bare word "
            "'foo'");
  EXPECT_EQ(first_error(h + "route {\n  // nope\n}"),
            "p.cfg:4:3: '//' is not a comment in the cfg language (use '#' or /* ... */)");
}

TEST(CfgParser, RoutesNamesAndDuplicates) {
  std::string h = kHead;
  EXPECT_EQ(first_error(h + "route { exit; }\nroute[0] { drop; }"),
            "p.cfg:4:1: the main route is already defined at p.cfg:3:1");
  EXPECT_EQ(first_error(h + "route[a] { exit; }\nroute[\"a\"] { drop; }\nroute { route(a); }"),
            "p.cfg:4:7: route 'a' is already defined at p.cfg:3:7");
  EXPECT_EQ(first_error(h + "route { route(nope); }\nroute[nop] { }"),
            "p.cfg:3:15: route 'nope' is not defined (did you mean 'nop'?)");
  // Names may be words, numbers or strings; calls find them the same way.
  EXPECT_EQ(all_errors(h + "route { route(1); route(\"two\"); route(three); }\n"
                           "route[1] { } route[two] { } route[\"three\"] { }"),
            "");
}

TEST(CfgParser, EndlessRouteRecursionIsRejectedAtLoad) {
  // A cycle of route() calls that nothing can stop (each is its route's first statement).
  EXPECT_EQ(first_error(std::string(kHead) + "route { route(a); }\nroute[a] { route(b); }\n"
                                             "route[b] { route(a); }\n"),
            "p.cfg:5:18: recursive route call: route[a] -> route[b] -> route[a]");
  EXPECT_EQ(first_error(std::string(kHead) + "route { route(0); }"),
            "p.cfg:3:15: recursive route call: the main route -> the main route");
  // Recursion a condition can stop is allowed (bounded at run time).
  EXPECT_EQ(first_error(std::string(kHead) + "route { route(a); }\nroute[a] { route(b); }\n"
                                             "route[b] { if ($rm) route(a); }\n"),
            "");
}

TEST(CfgParser, NestingAndSizeAreBounded) {
  std::string deep = std::string(kHead) + "route { if (";
  for (int i = 0; i < 1000; ++i) deep += "(";
  EXPECT_NE(first_error(deep).find("nested too deeply (at most 200 levels"), std::string::npos);
  std::string chain = std::string(kHead) + "route { ";
  for (int i = 0; i < 1000; ++i) chain += "if ($rm) exit; else ";
  EXPECT_NE(first_error(chain + "drop; }").find("nested too deeply"), std::string::npos);
  std::string terms = std::string(kHead) + "route { if ($rm";
  for (int i = 0; i < 1000; ++i) terms += " || $rm";
  EXPECT_NE(first_error(terms + ") exit; }").find("condition has too many terms (at most 1000)"),
            std::string::npos);
  // route() chains deeper than the interpreter allows are rejected at load.
  std::string routes = std::string(kHead) + "route { route(r0); }\n";
  for (int i = 0; i <= 100; ++i) {
    routes += "route[r" + std::to_string(i) + "] { route(r" + std::to_string(i + 1) + "); }\n";
  }
  EXPECT_EQ(first_error(routes + "route[r101] { exit; }"),
            "p.cfg:3:1: route() calls from the main route nest 102 deep (at most 100)");
  routes.clear();
  routes = std::string(kHead) + "route { route(r0); }\n";
  for (int i = 0; i < 99; ++i) {
    routes += "route[r" + std::to_string(i) + "] { route(r" + std::to_string(i + 1) + "); }\n";
  }
  EXPECT_EQ(first_error(routes + "route[r99] { exit; }"), "");
}

TEST(CfgParser, ErrorsInsideIncludedFilesUseTheirOwnLines) {
  char tmpl[] = "/tmp/sipsd-parse-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/routes.cfg") << "# routes\n\nroute {\n  xlog(\"hi\")\n}\n";
  std::ofstream(dir + "/main.cfg") << kHead << "include_file \"routes.cfg\"\n";
  Result<Config> cfg = load_config(dir + "/main.cfg");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.message(), dir +
                               "/routes.cfg:4:13: bad command: missing ';'?\n"
                               "      xlog(\"hi\")\n"
                               "                ^\n"
                               "    included from " +
                               dir + "/main.cfg:3:1");
  std::filesystem::remove_all(dir);
}

TEST(CfgParser, ManyErrorsAreCapped) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "bogus_param = 1\n";
  std::string errors = all_errors(text);
  EXPECT_NE(errors.find("too many errors (20), giving up"), std::string::npos);
}

TEST(CfgDidYouMean, Distances) {
  EXPECT_EQ(edit_distance("tcp_worker", "tcp_workers"), 1);
  EXPECT_EQ(edit_distance("tls_prot", "tls_port"), 1);  // a swap counts once
  EXPECT_EQ(edit_distance("LOG_LEVEL", "log_level"), 0);
  EXPECT_EQ(edit_distance("abc", "xyz"), 3);
  std::vector<std::string_view> c = {"tls_port", "tls_crlf_drop", "sl"};
  EXPECT_EQ(did_you_mean("tls_prot", c), "tls_port");
  EXPECT_EQ(did_you_mean("tm", c), "");  // short words need distance 1
  EXPECT_EQ(did_you_mean("completely_else", c), "");
  EXPECT_EQ(did_you_mean_suffix("tls_potr", c), " (did you mean 'tls_port'?)");
}

}  // namespace
}  // namespace sipsd::cfg
