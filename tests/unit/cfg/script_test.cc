#include "core/cfg/script.h"

#include <gtest/gtest.h>

#include <map>

#include "core/cfg/config.h"
#include "core/cfg/schema.h"

namespace sipsd {
namespace {

class FakeEnv : public ScriptEnv {
 public:
  std::map<PvId, std::string> vars;  // absent = NULL
  std::vector<std::pair<int, std::string>> replies;
  std::vector<std::pair<LogLevel, std::string>> logs;
  int reply_result = 1;

  std::optional<std::string_view> pv(PvId id) override {
    auto it = vars.find(id);
    if (it == vars.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  int sl_send_reply(int code, std::string_view reason) override {
    replies.emplace_back(code, std::string(reason));
    return reply_result;
  }
  void xlog(LogLevel level, std::string_view text) override {
    logs.emplace_back(level, std::string(text));
  }

  // The xlog texts only.
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& l : logs) out.push_back(l.second);
    return out;
  }
};

constexpr const char* kHead =
    "loadmodule \"proto_tcp.so\"\nloadmodule \"sl.so\"\nloadmodule \"sipmsgops.so\"\n"
    "socket = tcp:127.0.0.1:0\n";
// As kHead (same number of lines) with tls_mgm, for the $tls_* variables and is_peer_verified().
constexpr const char* kTlsHead =
    "loadmodule \"tls_mgm.so\"\nloadmodule \"proto_tls.so\"\nloadmodule \"sl.so\"\n"
    "socket = tls:127.0.0.1:0\n";

std::shared_ptr<const Script> compile(const std::string& routes, const char* head = kHead) {
  Result<Config> cfg = load_config_text(std::string(head) + routes, "s.cfg");
  EXPECT_TRUE(cfg.ok()) << cfg.message();
  if (!cfg.ok()) return nullptr;
  return cfg->script;
}

std::string compile_error(const std::string& routes, const char* head = kHead) {
  Result<Config> cfg = load_config_text(std::string(head) + routes, "s.cfg");
  if (cfg.ok()) return "";
  return cfg.message().substr(0, cfg.message().find('\n'));
}

// Runs the script and returns the xlog texts (plus the outcome through *out).
std::vector<std::string> run(const std::string& routes, FakeEnv& env, ScriptOutcome* out = nullptr,
                             const char* head = kHead) {
  auto script = compile(routes, head);
  if (!script) return {"<compile error>"};
  ScriptOutcome o = script->run_request(env);
  if (out) *out = o;
  return env.texts();
}

// A condition's truth value with the given variables.
bool truth(const std::string& cond, FakeEnv env, const char* head = kHead) {
  auto texts =
      run("route { if (" + cond + ") xlog(\"T\"); else xlog(\"F\"); }", env, nullptr, head);
  EXPECT_EQ(texts.size(), 1u) << cond;
  return !texts.empty() && texts[0] == "T";
}

FakeEnv env_with(std::map<PvId, std::string> vars) {
  FakeEnv e;
  e.vars = std::move(vars);
  return e;
}

TEST(Script, NoMainRouteEndsAtOnce) {
  auto script = compile("route[x] { xlog(\"x\"); }");
  ASSERT_NE(script, nullptr);
  FakeEnv env;
  EXPECT_EQ(script->run_request(env), ScriptOutcome::kEnd);
  EXPECT_TRUE(env.logs.empty());
}

TEST(Script, AndOrHaveSamePrecedenceLeftAssociative) {
  // OpenSIPS: 1 || 0 && 0 is false, because it means (1 || 0) && 0.
  FakeEnv none;
  EXPECT_FALSE(truth("1 || 0 && 0", none));
  EXPECT_TRUE(truth("1 || (0 && 0)", none));
  EXPECT_TRUE(truth("0 && 0 || 1", none));
  FakeEnv e = env_with({{PvId::kRm, "INVITE"}});
  EXPECT_FALSE(truth("$rm == \"INVITE\" || $rm == \"BYE\" && $si == \"1.2.3.4\"", e));
  EXPECT_TRUE(truth("$rm == \"INVITE\" or $rm == \"BYE\" and not $si", e));
  EXPECT_TRUE(truth("!($rm == \"BYE\")", e));
  EXPECT_TRUE(truth("!$rm == \"BYE\"", e));
}

TEST(Script, ShortCircuit) {
  FakeEnv env;
  run("route { if (0 && xlog(\"no\")) exit; if (1 || xlog(\"no\")) xlog(\"yes\"); "
      "if (1 && xlog(\"both\")) exit; }",
      env);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"yes", "both"}));
}

TEST(Script, StringComparisons) {
  FakeEnv e = env_with({{PvId::kRm, "INVITE"}, {PvId::kUa, "Zoiper"}});
  EXPECT_TRUE(truth("$rm == \"INVITE\"", e));
  EXPECT_FALSE(truth("$rm == \"invite\"", e));  // == is case-sensitive
  EXPECT_TRUE(truth("$rm != \"BYE\"", e));
  EXPECT_TRUE(truth("$rm < \"J\"", e));
  EXPECT_TRUE(truth("$rm >= \"INVITE\"", e));
  EXPECT_FALSE(truth("$rm > \"INVITE\"", e));
  EXPECT_TRUE(truth("$rm != $ua", e));
  EXPECT_FALSE(truth("$rm == $ci", e));  // NULL on one side
  EXPECT_TRUE(truth("$ci == $ru", e));   // NULL on both sides
  EXPECT_FALSE(truth("$ci == \"x\"", e));
  EXPECT_TRUE(truth("$ci != \"x\"", e));
}

TEST(Script, RegexIsExtendedAndCaseInsensitive) {
  FakeEnv e = env_with({{PvId::kUa, "Friendly-Scanner 1.0"}, {PvId::kRu, "sip:bob@example.com"}});
  EXPECT_TRUE(truth("$ua =~ \"friendly-scanner|sipvicious\"", e));
  EXPECT_FALSE(truth("$ua !~ \"^FRIENDLY\"", e));
  EXPECT_TRUE(truth("$ru =~ \"^sip:[a-z]+@(example|test)\\.com$\"", e));
  EXPECT_FALSE(truth("$ru =~ \"^sips:\"", e));
  EXPECT_FALSE(truth("$ci =~ \".*\"", e));  // NULL never matches
  EXPECT_TRUE(truth("$ci !~ \".*\"", e));
  EXPECT_EQ(compile_error("route { if ($ua =~ \"(unclosed\") exit; }"),
            "s.cfg:5:20: invalid regular expression \"(unclosed\": Unmatched ( or \\(");
  EXPECT_EQ(compile_error("route { if ($ua =~ $ru) exit; }"),
            "s.cfg:5:20: the regular expression of '=~' must be a quoted string (patterns from "
            "script variables are not supported)");
  EXPECT_EQ(compile_error("route { if ($ua =~ 5) exit; }"),
            "s.cfg:5:20: '=~' needs a quoted regular expression");
  EXPECT_EQ(compile_error("route { if ($ua =~ \"(a{99}){99}\") exit; }"),
            "s.cfg:5:20: invalid regular expression \"(a{99}){99}\": regular expression is too "
            "complex (its repetitions expand too much)");
  EXPECT_EQ(compile_error("route { if ($ua =~ \"a" + std::string(20, '+') + "\") exit; }"),
            "s.cfg:5:20: invalid regular expression \"a" + std::string(20, '+') +
                "\": regular expression is too complex (its repetitions expand too much)");
  EXPECT_EQ(compile_error("route { if ($ua =~ \"^(a|[]x[:alpha:]]{2,3})+(b{10}|c)*$\") exit; }"),
            "");
}

TEST(Script, NullChecksAndBareVariables) {
  FakeEnv e = env_with({{PvId::kRm, "INVITE"}, {PvId::kSp, "0"}, {PvId::kCi, ""}});
  EXPECT_TRUE(truth("$ru == NULL", e));
  EXPECT_FALSE(truth("$rm == NULL", e));
  EXPECT_TRUE(truth("$rm != null", e));
  EXPECT_TRUE(truth("$rm", e));
  EXPECT_FALSE(truth("$ru", e));  // not set
  EXPECT_FALSE(truth("$sp", e));  // "0"
  EXPECT_FALSE(truth("$ci", e));  // ""
  EXPECT_TRUE(truth("$(rm)", e));
  EXPECT_EQ(compile_error("route { if ($rm < NULL) exit; }"),
            "s.cfg:5:17: NULL can only be compared with == or !=, not '<'");
}

TEST(Script, NumericComparisons) {
  FakeEnv e = env_with({{PvId::kSp, "5060"}, {PvId::kRm, "INVITE"}, {PvId::kCi, "-3"}});
  EXPECT_TRUE(truth("$sp == 5060", e));
  EXPECT_TRUE(truth("$sp > 1024", e));
  EXPECT_TRUE(truth("$sp <= 5060", e));
  EXPECT_FALSE(truth("$sp < 5060", e));
  EXPECT_TRUE(truth("$ci < 0", e));
  EXPECT_TRUE(truth("$ci == -3", e));
  EXPECT_TRUE(truth("$sp == 0x13C4", e));
  // Not an integer: only != holds.
  EXPECT_FALSE(truth("$rm == 5", e));
  EXPECT_FALSE(truth("$rm < 5", e));
  EXPECT_FALSE(truth("$rm >= 5", e));
  EXPECT_TRUE(truth("$rm != 5", e));
  EXPECT_TRUE(truth("$ru != 5", e));  // NULL
  EXPECT_FALSE(truth("$ru == 5", e));
}

TEST(Script, NumbersAsConditions) {
  FakeEnv e;
  EXPECT_TRUE(truth("1", e));
  EXPECT_FALSE(truth("0", e));
  EXPECT_TRUE(truth("-1", e));
  EXPECT_TRUE(truth("yes", e));
}

TEST(Script, ExitDropAndEnd) {
  FakeEnv env;
  ScriptOutcome o;
  run("route { xlog(\"a\"); exit; xlog(\"b\"); }", env, &o);
  EXPECT_EQ(o, ScriptOutcome::kExit);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"a"});

  FakeEnv env2;
  run("route { drop(); xlog(\"b\"); }", env2, &o);
  EXPECT_EQ(o, ScriptOutcome::kDrop);
  EXPECT_TRUE(env2.logs.empty());

  FakeEnv env3;
  run("route { xlog(\"a\"); }", env3, &o);
  EXPECT_EQ(o, ScriptOutcome::kEnd);

  FakeEnv env4;
  run("route { return(5); xlog(\"b\"); }", env4, &o);  // return in the main route ends it
  EXPECT_EQ(o, ScriptOutcome::kEnd);
  EXPECT_TRUE(env4.logs.empty());
}

TEST(Script, RouteCallsAndReturnValues) {
  const std::string routes =
      "route {\n"
      "  route(log);\n"
      "  if (route(neg)) xlog(\"neg true\"); else xlog(\"neg false\");\n"
      "  if (route(pos)) xlog(\"pos true\");\n"
      "  if (route(plain)) xlog(\"plain true\");\n"
      "  route(neg);\n"
      "  xlog(\"after\");\n"
      "}\n"
      "route[log] { xlog(\"in log\"); return; xlog(\"unreached\"); }\n"
      "route[neg] { return(-2); }\n"
      "route[pos] { return 7; }\n"
      "route[plain] { }\n";
  FakeEnv env;
  ScriptOutcome o;
  EXPECT_EQ(run(routes, env, &o),
            (std::vector<std::string>{"in log", "neg false", "pos true", "plain true", "after"}));
  EXPECT_EQ(o, ScriptOutcome::kEnd);
}

TEST(Script, ReturnZeroExitAndDropInsideSubRoutesStopEverything) {
  FakeEnv env;
  ScriptOutcome o;
  run("route { route(a); xlog(\"after a\"); }\nroute[a] { xlog(\"a\"); return(0); }", env, &o);
  EXPECT_EQ(o, ScriptOutcome::kExit);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"a"});

  FakeEnv env2;
  run("route { if (route(a)) xlog(\"x\"); xlog(\"y\"); }\nroute[a] { drop; }", env2, &o);
  EXPECT_EQ(o, ScriptOutcome::kDrop);
  EXPECT_TRUE(env2.logs.empty());

  FakeEnv env3;
  run("route { route(a); xlog(\"y\"); }\nroute[a] { route(b); }\nroute[b] { exit; }", env3, &o);
  EXPECT_EQ(o, ScriptOutcome::kExit);
  EXPECT_TRUE(env3.logs.empty());
}

TEST(Script, IsMethodLists) {
  const std::string routes =
      "route {\n"
      "  if (is_method(\"INVITE|REGISTER\")) xlog(\"list\");\n"
      "  if (is_method(\"options\")) xlog(\"options\");\n"
      "  if (!is_method(\"BYE\")) xlog(\"not bye\");\n"
      "}\n";
  FakeEnv reg = env_with({{PvId::kRm, "REGISTER"}});
  EXPECT_EQ(run(routes, reg), (std::vector<std::string>{"list", "not bye"}));
  FakeEnv opt = env_with({{PvId::kRm, "OPTIONS"}});
  EXPECT_EQ(run(routes, opt), (std::vector<std::string>{"options", "not bye"}));
  FakeEnv inv = env_with({{PvId::kRm, "invite"}});  // case-insensitive
  EXPECT_EQ(run(routes, inv), (std::vector<std::string>{"list", "not bye"}));
  FakeEnv bye = env_with({{PvId::kRm, "BYE"}});
  EXPECT_TRUE(run(routes, bye).empty());
  FakeEnv invx = env_with({{PvId::kRm, "INVITEX"}});
  EXPECT_EQ(run(routes, invx), (std::vector<std::string>{"not bye"}));
  EXPECT_EQ(compile_error("route { is_method(\"A||B\"); }"),
            "s.cfg:5:19: is_method: empty method name in \"A||B\"");
  EXPECT_EQ(compile_error("route { is_method(5); }"),
            "s.cfg:5:19: is_method: a quoted list of methods is expected (\"INVITE|REGISTER\")");
}

TEST(Script, XlogBelowTheLogLevelIsNotRendered) {
  int saved = logger().level();
  logger().set_level(static_cast<int>(LogLevel::kNotice));
  FakeEnv env = env_with({{PvId::kRm, "INVITE"}});
  run("route { xlog(\"L_INFO\", \"got $rm\"); xlog(\"L_ERR\", \"shown $rm\"); }", env);
  logger().set_level(saved);
  ASSERT_EQ(env.logs.size(), 1u);
  EXPECT_EQ(env.logs[0].second, "shown INVITE");
}

TEST(Script, XlogSubstitution) {
  int saved = logger().level();
  logger().set_level(static_cast<int>(LogLevel::kDebug));  // every xlog level renders
  FakeEnv env = env_with({{PvId::kRm, "INVITE"},
                          {PvId::kSi, "10.0.0.7"},
                          {PvId::kSp, "40312"},
                          {PvId::kProto, "tls"}});
  run("route {\n"
      "  xlog(\"L_INFO\", \"got $rm from $si:$sp proto=$proto ua=$ua\\n\");\n"
      "  xlog(\"costs $ 5, $(rm) \" 'and $ci' \"\\n\\n\");\n"
      "  xlog(\"L_ERR\", \"plain\");\n"
      "}",
      env);
  ASSERT_EQ(env.logs.size(), 3u);
  EXPECT_EQ(env.logs[0].first, LogLevel::kInfo);
  EXPECT_EQ(env.logs[0].second, "got INVITE from 10.0.0.7:40312 proto=tls ua=<null>");
  EXPECT_EQ(env.logs[1].first, LogLevel::kNotice);  // one-argument form
  EXPECT_EQ(env.logs[1].second, "costs $ 5, INVITE and <null>");
  EXPECT_EQ(env.logs[2].first, LogLevel::kErr);
  EXPECT_EQ(env.logs[2].second, "plain");
  logger().set_level(saved);
}

TEST(Script, XlogErrors) {
  EXPECT_EQ(compile_error("route {\n  xlog(\"L_INFO\", \"x $foo y\");\n}"),
            "s.cfg:6:18: unknown script variable '$foo' in format string");
  EXPECT_EQ(compile_error("route { xlog(\"$hdr(From)\"); }"),
            "s.cfg:5:14: unknown script variable '$hdr(From)' in format string");
  EXPECT_EQ(compile_error("route { xlog(\"$r\"); }"),
            "s.cfg:5:14: unknown script variable '$r' in format string (did you mean '$rm'?)");
  EXPECT_EQ(compile_error("route { xlog(\"L_INFOO\", \"x\"); }"),
            "s.cfg:5:14: xlog: unknown log level 'L_INFOO' (use L_ALERT, L_CRIT, L_ERR, L_WARN, "
            "L_NOTICE, L_INFO or L_DBG) (did you mean 'L_INFO'?)");
  EXPECT_EQ(compile_error("route { xlog($rm); }"),
            "s.cfg:5:14: xlog: a quoted format string is expected");
}

TEST(Script, SlSendReply) {
  FakeEnv env = env_with({{PvId::kRm, "FOO"}});
  ScriptOutcome o;
  run("route { if (sl_send_reply(\"405\", \"$rm not allowed\")) xlog(\"sent\"); "
      "sl_send_reply(200, \"OK\"); }",
      env, &o);
  EXPECT_EQ(env.replies,
            (std::vector<std::pair<int, std::string>>{{405, "FOO not allowed"}, {200, "OK"}}));
  EXPECT_EQ(env.texts(), std::vector<std::string>{"sent"});

  FakeEnv failing;
  failing.reply_result = -1;
  run("route { if (!sl_send_reply(500, \"x\")) xlog(\"failed\"); }", failing);
  EXPECT_EQ(failing.texts(), std::vector<std::string>{"failed"});

  // A function returning 0 stops the script like exit.
  FakeEnv zero;
  zero.reply_result = 0;
  run("route { sl_send_reply(500, \"x\"); xlog(\"after\"); }", zero, &o);
  EXPECT_EQ(o, ScriptOutcome::kExit);
  EXPECT_TRUE(zero.logs.empty());

  EXPECT_EQ(compile_error("route { sl_send_reply(700, \"x\"); }"),
            "s.cfg:5:23: sl_send_reply: reply code 700 is out of range (100..699)");
  EXPECT_EQ(compile_error("route { sl_send_reply(\"abc\", \"x\"); }"),
            "s.cfg:5:23: sl_send_reply: the reply code must be a number");
  EXPECT_EQ(compile_error("route { sl_send_reply(404, 5); }"),
            "s.cfg:5:28: sl_send_reply: a quoted reason phrase is expected");
}

TEST(Script, TlsVariablesInConditions) {
  FakeEnv verified =
      env_with({{PvId::kTlsPeerVerified, "1"},
                {PvId::kTlsPeerSubjectCn, "alice.example.com"},
                {PvId::kTlsVersion, "TLSv1.3"},
                {PvId::kTlsPeerSerial, "730344845988415097185401048072226831495695551401"}});
  EXPECT_TRUE(truth("$tls_peer_verified == \"1\"", verified, kTlsHead));
  EXPECT_TRUE(truth("$tls_peer_verified == 1", verified, kTlsHead));
  EXPECT_TRUE(truth("$tls_peer_verified", verified, kTlsHead));
  EXPECT_TRUE(truth("is_peer_verified()", verified, kTlsHead));
  EXPECT_TRUE(truth("$tls_version =~ \"^TLSv1\\.[23]$\"", verified, kTlsHead));
  EXPECT_TRUE(
      truth("$(tls_peer_subject_cn) == \"alice.example.com\" && $tls_peer_san_email == NULL",
            verified, kTlsHead));
  EXPECT_TRUE(truth("$tls_peer_serial == \"730344845988415097185401048072226831495695551401\"",
                    verified, kTlsHead));
  EXPECT_FALSE(truth("$tls_peer_serial == 5", verified, kTlsHead));  // beyond int64: not a number

  FakeEnv unverified = env_with({{PvId::kTlsPeerVerified, "0"}, {PvId::kTlsVersion, "TLSv1.3"}});
  EXPECT_FALSE(truth("$tls_peer_verified", unverified, kTlsHead));
  EXPECT_FALSE(truth("$tls_peer_verified == 1", unverified, kTlsHead));
  EXPECT_FALSE(truth("is_peer_verified()", unverified, kTlsHead));
  EXPECT_TRUE(truth("!is_peer_verified()", unverified, kTlsHead));
  EXPECT_TRUE(truth("$tls_peer_subject_cn == NULL", unverified, kTlsHead));

  FakeEnv plain_tcp;  // not TLS: every $tls_* is NULL
  EXPECT_FALSE(truth("is_peer_verified()", plain_tcp, kTlsHead));
  EXPECT_TRUE(truth("$tls_peer_verified == NULL", plain_tcp, kTlsHead));
  EXPECT_TRUE(truth("$tls_version != \"TLSv1.3\"", plain_tcp, kTlsHead));

  // A false is_peer_verified() (-1) does not stop the script; only 0 would.
  FakeEnv env;
  ScriptOutcome o;
  run("route { is_peer_verified(); xlog(\"after\"); }", env, &o, kTlsHead);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"after"});
  EXPECT_EQ(o, ScriptOutcome::kEnd);
}

TEST(Script, TlsVariablesInXlog) {
  int saved = logger().level();
  logger().set_level(static_cast<int>(LogLevel::kDebug));
  FakeEnv env = env_with({{PvId::kTlsPeerVerified, "1"},
                          {PvId::kTlsPeerSubjectCn, "alice.example.com"},
                          {PvId::kTlsPeerNotAfter, "Mar  1 00:53:06 2029 GMT"},
                          {PvId::kTlsPeerFingerprint, "62:72:FF"}});
  run("route { xlog(\"L_INFO\", \"peer=$tls_peer_subject_cn verified=$tls_peer_verified "
      "sni=$(tls_sni) until $tls_peer_notAfter fp=$tls_peer_fingerprint.\\n\"); }",
      env, nullptr, kTlsHead);
  logger().set_level(saved);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"peer=alice.example.com verified=1 sni=<null> "
                                                  "until Mar  1 00:53:06 2029 GMT fp=62:72:FF."});
}

TEST(Script, EveryTlsVariableCompiles) {
  size_t n = 0;
  for (std::string_view name : cfg::pv_names()) {
    if (!name.starts_with("$tls_")) continue;
    ++n;
    const std::string v(name);
    EXPECT_EQ(compile_error("route { if (" + v + " == NULL) xlog(\"" + v + "\"); }", kTlsHead), "")
        << v;
    // Each is tls_mgm's: without the module it is an error naming it.
    EXPECT_EQ(
        compile_error("route { if (" + v + ") exit; }"),
        "s.cfg:5:13: unknown script variable '" + v + "', missing loadmodule \"tls_mgm.so\"?");
  }
  EXPECT_EQ(n, kTlsPvCount);
}

TEST(Script, TlsVariableAndFunctionErrors) {
  EXPECT_EQ(compile_error("route { if ($tls_peer_subjet_cn == \"x\") exit; }", kTlsHead),
            "s.cfg:5:13: unknown script variable '$tls_peer_subjet_cn' (did you mean "
            "'$tls_peer_subject_cn'?)");
  EXPECT_EQ(compile_error("route { if ($tls_peer_notbefore) exit; }", kTlsHead),
            "s.cfg:5:13: unknown script variable '$tls_peer_notbefore' (did you mean "
            "'$tls_peer_notBefore'?)");
  EXPECT_EQ(compile_error("route { if ($tls_peer_verifed == 1) exit; }", kTlsHead),
            "s.cfg:5:13: unknown script variable '$tls_peer_verifed' (did you mean "
            "'$tls_peer_verified'?)");
  EXPECT_EQ(compile_error("route { xlog(\"sni $tls_sin\"); }", kTlsHead),
            "s.cfg:5:14: unknown script variable '$tls_sin' in format string (did you mean "
            "'$tls_sni'?)");
  EXPECT_EQ(compile_error("route { xlog(\"$tls_peer_subject_cn(x)\"); }", kTlsHead),
            "s.cfg:5:14: unknown script variable '$tls_peer_subject_cn(x)' in format string");
  EXPECT_EQ(compile_error("route { if ($tls_cipher) exit; }", kTlsHead),
            "s.cfg:5:13: unknown script variable '$tls_cipher'");
  // Without loadmodule "tls_mgm.so".
  EXPECT_EQ(compile_error("route { xlog(\"v=$tls_version\"); }"),
            "s.cfg:5:14: unknown script variable '$tls_version' in format string, missing "
            "loadmodule \"tls_mgm.so\"?");
  EXPECT_EQ(compile_error("route { if (is_peer_verified()) exit; }"),
            "s.cfg:5:13: unknown command <is_peer_verified>, missing loadmodule \"tls_mgm.so\"?");
  EXPECT_EQ(compile_error("route { if (is_peer_verified(1)) exit; }", kTlsHead),
            "s.cfg:5:13: too many parameters for command <is_peer_verified>");
  EXPECT_EQ(compile_error("route { if (is_peer_verifed()) exit; }", kTlsHead),
            "s.cfg:5:13: unknown command <is_peer_verifed>, missing loadmodule? (did you mean "
            "'is_peer_verified'?)");
}

TEST(Script, SharedScriptRunsIndependently) {
  auto script = compile("route { if ($rm == \"A\") { xlog(\"a\"); exit; } xlog(\"other\"); }");
  ASSERT_NE(script, nullptr);
  for (int i = 0; i < 3; ++i) {
    FakeEnv a = env_with({{PvId::kRm, "A"}});
    EXPECT_EQ(script->run_request(a), ScriptOutcome::kExit);
    EXPECT_EQ(a.texts(), std::vector<std::string>{"a"});
    FakeEnv b = env_with({{PvId::kRm, "B"}});
    EXPECT_EQ(script->run_request(b), ScriptOutcome::kEnd);
    EXPECT_EQ(b.texts(), std::vector<std::string>{"other"});
  }
}

}  // namespace
}  // namespace sipsd
