#include "core/cfg/script.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/cfg/config.h"
#include "core/cfg/schema.h"
#include "core/cfg/script_regex.h"

namespace sipsd {
namespace {

// A value the fake environment hands out: NULL, an integer or a string.
struct Val {
  Val() = default;
  Val(const char* s) : kind(2), str(s) {}             // NOLINT: implicit for brevity
  Val(std::string s) : kind(2), str(std::move(s)) {}  // NOLINT
  Val(int64_t n) : kind(1), num(n) {}                 // NOLINT
  Val(int n) : kind(1), num(n) {}                     // NOLINT
  int kind = 0;
  int64_t num = 0;
  std::string str;
};

std::string show(const ScriptValue& v) {
  switch (v.kind()) {
    case ScriptValue::Kind::kNull:
      return "NULL";
    case ScriptValue::Kind::kInt:
      return std::to_string(v.int_value());
    case ScriptValue::Kind::kStr:
      return "\"" + std::string(v.str()) + "\"";
    case ScriptValue::Kind::kRegex:
      return "/" + v.regex()->pattern() + "/";
  }
  return "?";
}

class FakeEnv : public ScriptEnv {
 public:
  std::map<PvId, Val> vars;                                 // absent = NULL
  std::map<std::string, std::vector<std::string>> headers;  // $hdr(Name)
  std::map<FuncId, int> results;                            // default 1
  std::vector<std::pair<int, std::string>> replies;         // sl_send_reply
  std::vector<std::string> calls;                           // every env call, rendered
  std::vector<std::pair<LogLevel, std::string>> logs;
  std::vector<std::string> sets;       // pv_set, rendered
  std::vector<PvRef> refs;             // every pv_get
  std::vector<std::string> ref_names;  // their names, copied: a PvRef's name lives in the script
  AvpStore store;
  int reply_result = 1;
  // Regexes passed to t_check_status, tried on this text.
  std::string status = "408";
  std::vector<bool> status_matches;

  ScriptValue pv_get(const PvRef& ref) override {
    refs.push_back(ref);
    ref_names.emplace_back(ref.name);
    if (ref.id == PvId::kHdr) {
      auto it = headers.find(std::string(ref.name));
      if (it == headers.end() || it->second.empty()) return ScriptValue::null();
      int n = static_cast<int>(it->second.size());
      int i = ref.index < 0 ? n + ref.index : ref.index;
      if (i < 0 || i >= n) return ScriptValue::null();
      return ScriptValue::of(std::string_view(it->second[static_cast<size_t>(i)]));
    }
    auto it = vars.find(ref.id);
    if (it == vars.end() || it->second.kind == 0) return ScriptValue::null();
    if (it->second.kind == 1) return ScriptValue::of(it->second.num);
    return ScriptValue::of(std::string_view(it->second.str));
  }
  bool pv_set(const PvRef& ref, const ScriptValue& v) override {
    sets.push_back(std::string(cfg::pv_def(ref.id).name) + "=" + show(v));
    if (v.is_null()) {
      vars.erase(ref.id);
    } else if (v.is_int()) {
      vars[ref.id] = Val(v.int_value());
    } else {
      vars[ref.id] = Val(std::string(v.str()));
    }
    return true;
  }
  int call(FuncId id, std::span<const ScriptValue> args) override {
    std::string text = std::string(cfg::func_def(id).name) + "(";
    for (size_t i = 0; i < args.size(); ++i) text += (i ? "," : "") + show(args[i]);
    calls.push_back(text + ")");
    if (id == FuncId::kSlSendReply) {
      replies.emplace_back(static_cast<int>(args[0].int_value()), std::string(args[1].str()));
      return reply_result;
    }
    if (id == FuncId::kTCheckStatus) {
      bool m = args[0].regex()->match(status);
      status_matches.push_back(m);
      return m ? 1 : -1;
    }
    auto it = results.find(id);
    return it == results.end() ? 1 : it->second;
  }
  void xlog(LogLevel level, std::string_view text) override {
    logs.emplace_back(level, std::string(text));
  }
  AvpStore& avps() override { return store; }

  // The xlog texts only.
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& l : logs) out.push_back(l.second);
    return out;
  }
};

// Every module the functions need (4 lines, so error positions are on line 5).
constexpr const char* kHead =
    "loadmodule \"proto_tcp.so\"\nloadmodule \"sl.so\" loadmodule \"tm.so\" loadmodule \"rr.so\"\n"
    "loadmodule \"sipmsgops.so\" loadmodule \"maxfwd.so\" loadmodule \"signaling.so\"\n"
    "socket = tcp:127.0.0.1:0\n";
// As kHead with tls_mgm, for the $tls_* variables and is_peer_verified().
constexpr const char* kTlsHead =
    "loadmodule \"tls_mgm.so\"\nloadmodule \"proto_tls.so\"\nloadmodule \"sl.so\"\n"
    "socket = tls:127.0.0.1:0\n";

LoadOptions all_functions() {
  LoadOptions o;
  o.allow_unimplemented = true;
  return o;
}

std::shared_ptr<const Script> compile(const std::string& routes, const char* head = kHead) {
  Result<Config> cfg = load_config_text(std::string(head) + routes, "s.cfg", all_functions());
  EXPECT_TRUE(cfg.ok()) << cfg.message();
  if (!cfg.ok()) return nullptr;
  return cfg->script;
}

std::string compile_error(const std::string& routes, const char* head = kHead,
                          LoadOptions options = all_functions()) {
  Result<Config> cfg = load_config_text(std::string(head) + routes, "s.cfg", options);
  if (cfg.ok()) return "";
  return cfg.message().substr(0, cfg.message().find('\n'));
}

std::vector<std::string> load_warnings(const std::string& routes) {
  Result<Config> cfg = load_config_text(std::string(kHead) + routes, "s.cfg", all_functions());
  EXPECT_TRUE(cfg.ok()) << cfg.message();
  return cfg.ok() ? cfg->warnings : std::vector<std::string>{};
}

// Runs the main route and returns the xlog texts (plus the result through *out).
std::vector<std::string> run(const std::string& routes, FakeEnv& env, ScriptResult* out = nullptr,
                             const char* head = kHead) {
  auto script = compile(routes, head);
  if (!script) return {"<compile error>"};
  ScriptVars vars;
  ScriptResult r = script->run(script->main_route(), env, vars);
  if (out) *out = r;
  return env.texts();
}

// A condition's truth value with the given variables.
bool truth(const std::string& cond, FakeEnv env, const char* head = kHead) {
  auto texts =
      run("route { if (" + cond + ") xlog(\"T\"); else xlog(\"F\"); }", env, nullptr, head);
  EXPECT_EQ(texts.size(), 1u) << cond;
  return !texts.empty() && texts[0] == "T";
}

FakeEnv env_with(std::map<PvId, Val> vars) {
  FakeEnv e;
  e.vars = std::move(vars);
  return e;
}

// The text xlog prints for an expression.
std::string value_of(const std::string& expr, FakeEnv env = FakeEnv()) {
  auto texts = run("route { $var(v) = " + expr + "; xlog(\"$var(v)\"); }", env);
  return texts.size() == 1 ? texts[0] : "<" + std::to_string(texts.size()) + " lines>";
}

class LogLevelScope {
 public:
  // Sets log_level and xlog_level (xlog() follows the latter).
  explicit LogLevelScope(LogLevel level)
      : saved_(logger().level()), saved_xlog_(logger().xlog_level()) {
    logger().set_level(static_cast<int>(level));
    logger().set_xlog_level(static_cast<int>(level));
  }
  ~LogLevelScope() {
    logger().set_level(saved_);
    logger().set_xlog_level(saved_xlog_);
  }

 private:
  int saved_;
  int saved_xlog_;
};

// ---- conditions (today's behaviour) ---------------------------------------------------------

TEST(Script, NoMainRouteEndsAtOnce) {
  auto script = compile("route[x] { xlog(\"x\"); }");
  ASSERT_NE(script, nullptr);
  FakeEnv env;
  ScriptVars vars;
  EXPECT_FALSE(script->main_route().valid());
  ScriptResult r = script->run(script->main_route(), env, vars);
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);
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

TEST(Script, DynamicRegexesAreCompiledAtRunTimeAndCached) {
  FakeEnv e = env_with({{PvId::kUa, "Friendly-Scanner 1.0"}, {PvId::kSi, "^friendly"}});
  EXPECT_TRUE(truth("$ua =~ $si", e));
  EXPECT_FALSE(truth("$ua !~ $si", e));
  EXPECT_TRUE(truth("$ua =~ \"^FRIEND\" + \"LY-\"", e));  // an expression: a dynamic pattern
  EXPECT_FALSE(truth("$ua =~ $ci", e));                   // a NULL pattern matches nothing
  EXPECT_TRUE(truth("$ua !~ $ci", e));
  // A bad pattern is an error at run time: logged, the comparison is false both ways.
  FakeEnv bad = env_with({{PvId::kUa, "x"}, {PvId::kSi, "(unclosed"}});
  EXPECT_FALSE(truth("$ua =~ $si", bad));
  EXPECT_FALSE(truth("$ua !~ $si", bad));
  FakeEnv huge = env_with({{PvId::kUa, "x"}, {PvId::kSi, "(a{99}){99}"}});
  EXPECT_FALSE(truth("$ua =~ $si", huge));  // the size check applies to run-time patterns too

  // The same pattern many times, and more patterns than the cache holds: still right.
  auto script = compile(
      "route { $var(i) = 0; while ($var(i) < 40) { if ($var(i) =~ \"^\" + ($var(i) % 20) + "
      "\"$\") $var(n) = $var(n) + 1; $var(i) += 1; } xlog(\"$var(n)\"); }");
  ASSERT_NE(script, nullptr);
  FakeEnv env;
  ScriptVars vars;
  script->run(script->main_route(), env, vars);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"20"});  // 0..19 match themselves
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
  EXPECT_TRUE(truth("$du == NULL", e));
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
  // An integer variable against a quoted number compares as numbers.
  FakeEnv i = env_with({{PvId::kSp, 5060}});
  EXPECT_TRUE(truth("$sp == \"5060\"", i));
  EXPECT_TRUE(truth("$sp == 5060", i));
  EXPECT_TRUE(truth("$sp > 100", i));
}

TEST(Script, NumbersAsConditions) {
  FakeEnv e;
  EXPECT_TRUE(truth("1", e));
  EXPECT_FALSE(truth("0", e));
  EXPECT_TRUE(truth("-1", e));
  EXPECT_TRUE(truth("yes", e));
  EXPECT_TRUE(truth("[1 + 2]", e));
  EXPECT_FALSE(truth("[2 - 2]", e));
}

// ---- statements, return values --------------------------------------------------------------

TEST(Script, ExitDropAndEnd) {
  FakeEnv env;
  ScriptResult r;
  run("route { xlog(\"a\"); exit; xlog(\"b\"); }", env, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_EQ(r.retcode, 0);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"a"});

  FakeEnv env2;
  run("route { drop(); xlog(\"b\"); }", env2, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kDrop);
  EXPECT_TRUE(env2.logs.empty());

  FakeEnv env3;
  run("route { xlog(\"a\"); }", env3, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);
  EXPECT_EQ(r.retcode, 1);

  FakeEnv env4;
  run("route { return(5); xlog(\"b\"); }", env4, &r);  // return in the main route ends it
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);
  EXPECT_EQ(r.retcode, 5);
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
      "  xlog(\"after $rc $retcode\");\n"
      "  route(pos);\n"
      "  xlog(\"rc=$rc\");\n"
      "}\n"
      "route[log] { xlog(\"in log\"); return; xlog(\"unreached\"); }\n"
      "route[neg] { return(-2); }\n"
      "route[pos] { return 7; }\n"
      "route[plain] { }\n";
  FakeEnv env;
  ScriptResult r;
  EXPECT_EQ(run(routes, env, &r), (std::vector<std::string>{"in log", "neg false", "pos true",
                                                            "plain true", "after -2 -2", "rc=7"}));
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);
}

TEST(Script, ReturnExpressions) {
  FakeEnv env;
  run("route { $var(x) = 4; route(r); xlog(\"$rc\"); $var(x) = -1; route(r); xlog(\"$rc\"); }\n"
      "route[r] { return($var(x) * 2); }",
      env);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"8", "-2"}));
  // A computed 0 ends the whole script, like return(0).
  FakeEnv env2;
  ScriptResult r;
  run("route { $var(x) = 0; route(r); xlog(\"after\"); }\nroute[r] { return $var(x); }", env2, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_TRUE(env2.logs.empty());
  EXPECT_EQ(compile_error("route { return(\"x\"); }"),
            "s.cfg:5:16: return expects a number or an expression, not a string");
}

TEST(Script, ReturnZeroExitAndDropInsideSubRoutesStopEverything) {
  FakeEnv env;
  ScriptResult r;
  run("route { route(a); xlog(\"after a\"); }\nroute[a] { xlog(\"a\"); return(0); }", env, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"a"});

  FakeEnv env2;
  run("route { if (route(a)) xlog(\"x\"); xlog(\"y\"); }\nroute[a] { drop; }", env2, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kDrop);
  EXPECT_TRUE(env2.logs.empty());

  FakeEnv env3;
  run("route { route(a); xlog(\"y\"); }\nroute[a] { route(b); }\nroute[b] { exit; }", env3, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_TRUE(env3.logs.empty());

  // exit inside a while inside a sub-route.
  FakeEnv env4;
  run("route { route(a); xlog(\"y\"); }\nroute[a] { while (1) { xlog(\"loop\"); exit; } }", env4,
      &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_EQ(env4.texts(), std::vector<std::string>{"loop"});
}

TEST(Script, FunctionValuesDriveConditionsAndRc) {
  FakeEnv env;
  env.results[FuncId::kTRelay] = -3;
  env.results[FuncId::kLooseRoute] = 2;
  ScriptResult r;
  run("route {\n"
      "  if (!t_relay()) xlog(\"relay failed $rc\");\n"
      "  loose_route();\n"
      "  $var(rc) = $rc;\n"
      "  xlog(\"lr=$var(rc)\");\n"
      "  if (t_relay() < 0) xlog(\"negative\");\n"
      "  $var(x) = t_relay();\n"
      "  xlog(\"x=$var(x)\");\n"
      "}",
      env, &r);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"relay failed -3", "lr=2", "negative", "x=-3"}));
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);

  // 0 stops the script wherever the call is: a statement, a condition, an expression.
  for (const char* body : {"t_relay(); xlog(\"after\");",
                           "if (t_relay()) xlog(\"then\"); else xlog(\"else\"); xlog(\"after\");",
                           "$var(x) = t_relay() + 1; xlog(\"after\");",
                           "if (is_method(\"A\") || t_relay()) xlog(\"then\"); xlog(\"after\");"}) {
    FakeEnv zero;
    zero.results[FuncId::kTRelay] = 0;
    run(std::string("route { ") + body + " }", zero, &r);
    EXPECT_EQ(r.outcome, ScriptOutcome::kExit) << body;
    EXPECT_TRUE(zero.logs.empty()) << body;
  }
}

TEST(Script, WhileLoopsAndBreak) {
  FakeEnv env2;
  run("route {\n"
      "  $var(i) = 0; $var(s) = \"\";\n"
      "  while ($var(i) < 10) {\n"
      "    $var(i) += 1;\n"
      "    if ($var(i) == 4) break;\n"
      "    $var(s) = $var(s) + $var(i);\n"
      "  }\n"
      "  xlog(\"$var(s) $var(i)\");\n"
      "  while (0) xlog(\"never\");\n"
      "}",
      env2);
  EXPECT_EQ(env2.texts(), std::vector<std::string>{"123 4"});
}

TEST(Script, WhileLoopsAreBoundedByMaxWhileLoops) {
  FakeEnv env;
  run("max_while_loops = 5\n"
      "route { $var(n) = 0; while (1) { $var(n) += 1; } xlog(\"n=$var(n)\"); }",
      env);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"n=5"});  // cut short; the script goes on

  FakeEnv dflt;
  run("route { $var(n) = 0; while ($var(n) >= 0) $var(n) += 1; xlog(\"n=$var(n)\"); }", dflt);
  EXPECT_EQ(dflt.texts(), std::vector<std::string>{"n=10000"});  // OpenSIPS's default
  EXPECT_EQ(compile_error("max_while_loops = 0\nroute { exit; }"),
            "s.cfg:5:19: max_while_loops = 0 is out of range (allowed: 1..100000000)");
}

TEST(Script, StatementsPerRunAreBounded) {
  // Nested loops could run 10^8 statements: the run is cut short and dropped.
  FakeEnv env;
  ScriptResult r;
  run("route { $var(i) = 0; while ($var(i) < 10000) { $var(i) += 1; $var(j) = 0; "
      "while ($var(j) < 10000) $var(j) += 1; } xlog(\"end\"); }",
      env, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kDrop);
  EXPECT_TRUE(env.logs.empty());
}

TEST(Script, Switch) {
  const std::string routes =
      "route {\n"
      "  switch ($rm) {\n"
      "    case \"INVITE\": xlog(\"invite\");\n"
      "    case \"ACK\": xlog(\"invite or ack\"); break;\n"
      "    case 5: xlog(\"five\"); break;\n"
      "    default: xlog(\"other\");\n"
      "  }\n"
      "  switch ($sp) { case 1: xlog(\"one\"); }\n"
      "  xlog(\"end\");\n"
      "}";
  FakeEnv inv = env_with({{PvId::kRm, "INVITE"}});
  EXPECT_EQ(run(routes, inv), (std::vector<std::string>{"invite", "invite or ack", "end"}));
  FakeEnv ack = env_with({{PvId::kRm, "ACK"}, {PvId::kSp, 1}});
  EXPECT_EQ(run(routes, ack), (std::vector<std::string>{"invite or ack", "one", "end"}));
  FakeEnv five = env_with({{PvId::kRm, "5"}});
  EXPECT_EQ(run(routes, five), (std::vector<std::string>{"five", "end"}));
  FakeEnv bye = env_with({{PvId::kRm, "BYE"}});
  EXPECT_EQ(run(routes, bye), (std::vector<std::string>{"other", "end"}));
  // break inside a while inside a switch leaves the while only.
  FakeEnv nested = env_with({{PvId::kRm, "A"}});
  EXPECT_EQ(run("route { switch ($rm) { case \"A\": while (1) { break; } xlog(\"a\"); break; "
                "default: xlog(\"d\"); } }",
                nested),
            std::vector<std::string>{"a"});
  EXPECT_EQ(compile_error("route { break; }"),
            "s.cfg:5:9: 'break' outside a while loop or a switch");
  EXPECT_EQ(compile_error("route { switch ($rm) { default: exit; default: drop; } }"),
            "s.cfg:5:39: switch: a second 'default'");
}

// ---- assignments and values -----------------------------------------------------------------

TEST(Script, AssignmentsToEnvVariables) {
  FakeEnv env = env_with({{PvId::kRu, "sip:a@b"}});
  run("route { $ru = \"sip:x@y\"; $du = $ru + \";lr\"; $ru += \";t=1\"; $du = NULL; "
      "$rU = \"bob\"; $rp = 5070; }",
      env);
  EXPECT_EQ(env.sets,
            (std::vector<std::string>{"ru=\"sip:x@y\"", "du=\"sip:x@y;lr\"", "ru=\"sip:x@y;t=1\"",
                                      "du=NULL", "rU=\"bob\"", "rp=5070"}));
}

TEST(Script, AssignmentsToReadOnlyVariablesAreRejectedAtLoad) {
  const std::string expected =
      "'$si' is read-only; only $ru $rU $rd $rp $du $socket_out $var(x) $avp(x) can be assigned";
  EXPECT_EQ(compile_error("route { $si = \"1.2.3.4\"; }"), "s.cfg:5:9: " + expected);
  EXPECT_EQ(
      compile_error("route { $rc = 1; }"),
      "s.cfg:5:9: '$rc' is read-only; only $ru $rU $rd $rp $du $socket_out $var(x) $avp(x) can be "
      "assigned");
  EXPECT_EQ(
      compile_error("route { $hdr(From) = \"x\"; }"),
      "s.cfg:5:9: '$hdr(From)' is read-only; only $ru $rU $rd $rp $du $socket_out $var(x) $avp(x) "
      "can be assigned");
  EXPECT_EQ(compile_error("route { $(var(x){s.len}) = 1; }"),
            "s.cfg:5:9: cannot assign to '$(var(x){s.len})' (transformations and indexes are "
            "read-only)");
  EXPECT_EQ(compile_error("route { $var(x) &= 1; }"),
            "s.cfg:5:17: assignment operator '&=' is not supported yet");
  EXPECT_EQ(compile_error("route { $var(x) = INVITE; }"),
            "s.cfg:5:19: bare word <INVITE> found, command calls need '()'");
}

TEST(Script, ConcatenationAndArithmetic) {
  EXPECT_EQ(value_of("\"a\" + \"b\""), "ab");
  EXPECT_EQ(value_of("\"a\" + 5"), "a5");
  EXPECT_EQ(value_of("5 + \"a\""), "5a");
  EXPECT_EQ(value_of("2 + 3"), "5");
  EXPECT_EQ(value_of("\"2\" + 3"), "23");  // a string on either side concatenates
  EXPECT_EQ(value_of("10 - 3"), "7");
  EXPECT_EQ(value_of("\"10\" - 3"), "7");  // - * / % take numbers in strings
  EXPECT_EQ(value_of("6 * 7"), "42");
  EXPECT_EQ(value_of("7 / 2"), "3");
  EXPECT_EQ(value_of("-7 % 3"), "-1");
  EXPECT_EQ(value_of("-(2 + 3)"), "-5");
  EXPECT_EQ(value_of("7 + 3 * 2"), "20");    // one precedence level, left to right (OpenSIPS)
  EXPECT_EQ(value_of("7 + (3 * 2)"), "13");  // parentheses as usual
  EXPECT_EQ(value_of("1 / 0"), "<null>");    // logged; NULL
  EXPECT_EQ(value_of("\"a\" - 1"), "<null>");
  EXPECT_EQ(value_of("$var(unset) + 1"), "1");  // NULL counts as 0 (or "" next to a string)
  EXPECT_EQ(value_of("$var(unset) + \"x\""), "x");
  EXPECT_EQ(value_of("$sp + 1", env_with({{PvId::kSp, 5060}})), "5061");
  EXPECT_EQ(value_of("$si + \":\" + $sp", env_with({{PvId::kSi, "10.0.0.1"}, {PvId::kSp, 5060}})),
            "10.0.0.1:5060");
  EXPECT_EQ(value_of("$rm == \"A\"", env_with({{PvId::kRm, "A"}})), "1");  // a condition: 1/0
  EXPECT_EQ(value_of("9223372036854775807 + 1"), "-9223372036854775808");  // wraps, no UB
  EXPECT_EQ(value_of("-9223372036854775807 - 1 / -1"), "-9223372036854775808");

  FakeEnv vars;
  run("route { $var(s) = \"ab\"; $var(i) = 5; $var(c) = $var(s) + $var(i); $var(i) += 2; "
      "$var(i) *= 3; $var(i) -= 1; $var(i) /= 4; $var(j) = 17; $var(j) %= 5; $var(s) += \"c\"; "
      "xlog(\"$var(c) $var(i) $var(j) $var(s)\"); }",
      vars);
  EXPECT_EQ(vars.texts(), std::vector<std::string>{"ab5 5 2 abc"});
  // A string can grow only so far.
  FakeEnv big;
  run("route { $var(s) = \"x\"; $var(n) = 0; while ($var(n) < 30) { $var(s) = $var(s) + "
      "$var(s); $var(n) += 1; } xlog(\"$(var(s){s.len})\"); }",
      big);
  EXPECT_EQ(big.texts(), std::vector<std::string>{"0"});  // became NULL past 64 KiB
}

TEST(Script, MixedPrecedenceWarns) {
  std::vector<std::string> w = load_warnings(
      "route { $var(x) = 7 + 3 * 2; $var(y) = (7 + 3) * 2; "
      "$var(z) = 7 * 3 + 2; }");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("s.cfg:5:25: '*' is applied to everything on its left"), std::string::npos)
      << w[0];
}

TEST(Script, Transformations) {
  FakeEnv env = env_with({{PvId::kRu, "sip:Alice@Example.COM:5070;transport=tls;lr"},
                          {PvId::kUa, "  42abc"},
                          {PvId::kSi, "10.0.0.1"}});
  run("route {\n"
      "  $var(a) = \"hello\";\n"
      "  xlog(\"$(var(a){s.len}) $(var(a){s.toupper}) $(ru{s.tolower})\");\n"
      "  xlog(\"[$(var(a){s.substr,1,3})] [$(var(a){s.substr,-2})] [$(var(a){s.substr,1,-1})]\");\n"
      "  xlog(\"$(ua{s.int}) $(si{s.int}) $(var(nothing){s.len})\");\n"
      "  xlog(\"$(ru{uri.user}) $(ru{uri.host}) $(ru{uri.port}) $(ru{uri.param,transport}) "
      "[$(ru{uri.param,lr})] $(ru{uri.param,maddr})\");\n"
      "  if ($(ru{uri.host}{s.tolower}) == \"example.com\") xlog(\"chained\");\n"
      "  if ($(ru{uri.port}) + 1 == 5071) xlog(\"int\");\n"
      "  if ($(var(a){s.len}) == 5) xlog(\"len\");\n"
      "  $var(u) = \"<sips:[2001:db8::1]>\";\n"
      "  xlog(\"$(var(u){uri.host}) $(var(u){uri.port}) [$(var(u){uri.user})]\");\n"
      "  $var(t) = \"tel:+4312345;phone-context=x\";\n"
      "  xlog(\"$(var(t){uri.user}) $(var(a){uri.user})\");\n"
      "}",
      env);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{
                             "5 HELLO sip:alice@example.com:5070;transport=tls;lr",
                             "[ell] [lo] [ell]",
                             "42 10 0",
                             "Alice Example.COM 5070 tls [] <null>",
                             "chained",
                             "int",
                             "len",
                             "[2001:db8::1] <null> []",
                             "+4312345 <null>",
                         }));
  EXPECT_EQ(compile_error("route { xlog(\"$(var(a){s.lenn})\"); }"),
            "s.cfg:5:14: '$(var(a){s.lenn})': unknown transformation '{s.lenn}' (supported: "
            "s.len, s.int, s.tolower, s.toupper, s.substr, uri.user, uri.host, uri.port, "
            "uri.param)");
  EXPECT_EQ(compile_error("route { if ($(var(a){s.substr,x}) == 1) exit; }"),
            "s.cfg:5:13: '$(var(a){s.substr,x})': transformation '{s.substr,x}': offset and "
            "length must be integers");
  EXPECT_EQ(compile_error("route { if ($(var(a){uri.param}) == 1) exit; }"),
            "s.cfg:5:13: '$(var(a){uri.param})': transformation '{uri.param}' takes 1 "
            "parameter(s)");
}

TEST(Script, VarsPersistAcrossRunsPerProcess) {
  auto script = compile(
      "route { $var(n) = $var(n) + 1; xlog(\"$var(n) $var(s)\"); "
      "$var(s) = $var(s) + \"x\"; }");
  ASSERT_NE(script, nullptr);
  ScriptVars worker1, worker2;
  FakeEnv env;
  for (int i = 0; i < 3; ++i) script->run(script->main_route(), env, worker1);
  script->run(script->main_route(), env, worker2);
  EXPECT_EQ(env.texts(),
            (std::vector<std::string>{"1 <null>", "2 x", "3 xx", "1 <null>"}));  // own per process
  EXPECT_EQ(script->var_count(), 2u);
  const int n = script->var_slot("n");
  ASSERT_GE(n, 0);
  int64_t v = 0;
  EXPECT_TRUE(worker1.get(n).to_int(&v));
  EXPECT_EQ(v, 3);
  worker1.set(n, ScriptValue::of(int64_t{40}));
  script->run(script->main_route(), env, worker1);
  EXPECT_EQ(env.texts().back(), "41 xxx");
  worker1.clear();
  script->run(script->main_route(), env, worker1);
  EXPECT_EQ(env.texts().back(), "1 <null>");
  EXPECT_EQ(script->var_slot("nope"), -1);
}

TEST(Script, VarSelfAssignment) {
  FakeEnv env;
  run("route { $var(a) = \"abcdef\"; $var(a) = $var(a); $var(a) = $(var(a){s.substr,1}); "
      "$var(b) = $var(a); $var(a) = $var(b) + $var(a); xlog(\"$var(a)\"); }",
      env);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"bcdefbcdef"});
}

TEST(Script, Avps) {
  auto script = compile(
      "route {\n"
      "  $avp(x) = \"one\"; $avp(x) = \"two\"; $avp(y) = 3;\n"
      "  xlog(\"$avp(x) $(avp(x)[0]) $(avp(x)[1]) $(avp(x)[-1]) $(avp(x)[2]) $avp(y)\");\n"
      "  $avp(x) = NULL;\n"
      "  xlog(\"after = NULL: $avp(x)\");\n"
      "  $avp(x) = \"b\"; $avp(x) := \"only\";\n"
      "  xlog(\"after := $avp(x) $(avp(x)[1])\");\n"
      "  $avp(y) += 4; $avp(x) += \"!\";\n"
      "  xlog(\"$avp(y) $avp(x)\");\n"
      "  $avp(x) := NULL;\n"
      "  if ($avp(x) == NULL) xlog(\"gone\");\n"
      "}");
  ASSERT_NE(script, nullptr);
  FakeEnv env;
  ScriptVars vars;
  script->run(script->main_route(), env, vars);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"two two one one <null> 3", "after = NULL: one",
                                                   "after := only <null>", "7 only!", "gone"}));
  EXPECT_EQ(script->avp_count(), 2u);
  EXPECT_EQ(script->avp_slot("y"), 1);
  EXPECT_EQ(script->avp_name(0), "x");
  int64_t y = 0;
  EXPECT_TRUE(env.store.get(script->avp_slot("y")).to_int(&y));
  EXPECT_EQ(y, 7);
}

TEST(AvpStore, CopiesAreIndependent) {
  AvpStore a;
  a.add(0, ScriptValue::of(std::string_view("one")));
  a.add(0, ScriptValue::of(std::string_view("two")));
  a.add(1, ScriptValue::of(int64_t{5}));
  AvpStore kept = a;  // what tm keeps with a transaction
  a.set(0, ScriptValue::of(std::string_view("changed")));
  a.erase_all(1);
  EXPECT_EQ(kept.count(0), 2u);
  EXPECT_EQ(kept.get(0).str(), "two");
  EXPECT_EQ(kept.get(0, 1).str(), "one");
  EXPECT_EQ(kept.get(1).int_value(), 5);
  EXPECT_EQ(a.count(0), 1u);
  EXPECT_EQ(a.get(0).str(), "changed");
  EXPECT_TRUE(a.get(1).is_null());
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(kept.empty());
  // A value taken from the store itself, while the store grows.
  kept.add(0, kept.get(0, 1));
  EXPECT_EQ(kept.get(0).str(), "one");
  kept.set(0, kept.get(0, 1));
  EXPECT_EQ(kept.count(0), 1u);
  EXPECT_EQ(kept.get(0).str(), "two");
  // Dropped values are reclaimed.
  std::string big(1000, 'x');
  for (int i = 0; i < 1000; ++i) kept.set(2, ScriptValue::of(std::string_view(big)));
  EXPECT_EQ(kept.count(2), 1u);
  EXPECT_EQ(kept.get(2).str(), big);
  EXPECT_EQ(kept.get(0).str(), "two");
}

// ---- functions and their arguments ----------------------------------------------------------

TEST(Script, ArgumentsAreResolvedAsTheirKindsSay) {
  FakeEnv env = env_with({{PvId::kSi, "10.0.0.7"}, {PvId::kSp, 5099}, {PvId::kRm, "INVITE"}});
  run("failure_route[missed] { exit; }\nonreply_route[rpl] { exit; }\n"
      "branch_route[br] { exit; }\nfailure_route[other] { exit; }\n"
      "route {\n"
      "  append_hf(\"X-Src: $si:$sp\\r\\n\");\n"
      "  append_hf(\"X-Static: 1\\r\\n\", \"Call-ID\");\n"
      "  is_myself(\"example.com\", 5060);\n"
      "  sl_send_reply(\"404\", \"Not $rm\");\n"
      "  send_reply(480, $rm);\n"
      "  t_on_failure(\"other\"); t_on_reply(rpl); t_on_branch(\"br\");\n"
      "  t_relay(); t_relay(, \"tls:10.0.0.1:5061\"); t_relay(\"no-auto-477\");\n"
      "  t_local_replied(\"ALL\");\n"
      "  setflag(NAT); setflag(\"KEEP\"); isflagset(5); resetflag(\"NAT\");\n"
      "  mf_process_maxfwd_header(10);\n"
      "  remove_hf($rm);\n"
      "  record_route(); record_route(\";p=$sp\");\n"
      "}\n",
      env);
  EXPECT_EQ(env.calls, (std::vector<std::string>{
                           "append_hf(\"X-Src: 10.0.0.7:5099\r\n\")",
                           "append_hf(\"X-Static: 1\r\n\",\"Call-ID\")",
                           "is_myself(\"example.com\",5060)",
                           "sl_send_reply(404,\"Not INVITE\")",
                           "send_reply(480,\"INVITE\")",
                           "t_on_failure(1)",  // the second failure_route
                           "t_on_reply(0)",
                           "t_on_branch(0)",
                           "t_relay()",
                           "t_relay(NULL,\"tls:10.0.0.1:5061\")",
                           "t_relay(\"no-auto-477\")",
                           "t_local_replied(\"ALL\")",
                           "setflag(0)",
                           "setflag(1)",
                           "isflagset(5)",
                           "resetflag(0)",
                           "mf_process_maxfwd_header(10)",
                           "remove_hf(\"INVITE\")",
                           "record_route()",
                           "record_route(\";p=5099\")",
                       }));
}

TEST(Script, ArgumentErrors) {
  EXPECT_EQ(compile_error("route { sl_send_reply(700, \"x\"); }"),
            "s.cfg:5:23: sl_send_reply: reply code 700 is out of range (100..699)");
  EXPECT_EQ(compile_error("route { sl_send_reply(\"abc\", \"x\"); }"),
            "s.cfg:5:23: sl_send_reply: the reply code must be a number");
  EXPECT_EQ(compile_error("route { sl_send_reply(404, 5); }"),
            "s.cfg:5:28: sl_send_reply: a quoted reason phrase is expected");
  EXPECT_EQ(compile_error("route { t_on_failure(\"nope\"); }\nfailure_route[none] { exit; }"),
            "s.cfg:5:22: failure_route 'nope' is not defined (did you mean 'none'?)");
  EXPECT_EQ(compile_error("route { t_on_reply(\"x\"); }"),
            "s.cfg:5:20: onreply_route 'x' is not defined");
  EXPECT_EQ(compile_error("route { t_on_failure($var(x)); }"),
            "s.cfg:5:22: t_on_failure: a failure_route name is expected");
  EXPECT_EQ(compile_error("route { t_local_replied(\"some\"); }"),
            "s.cfg:5:25: t_local_replied: \"some\" is not one of all,branch,last");
  EXPECT_EQ(compile_error("route { is_direction(\"up\"); }"),
            "s.cfg:5:22: is_direction: \"up\" is not one of downstream,upstream");
  EXPECT_EQ(compile_error("route { setflag(32); }"),
            "s.cfg:5:17: setflag: flag 32 is out of range (0..31)");
  EXPECT_EQ(compile_error("route { setflag(\"NAT\"); setflag(0); }"),
            "s.cfg:5:33: setflag: flag 0 is already the named flag 'NAT'");
  EXPECT_EQ(compile_error("route { append_hf(Foo); }"),
            "s.cfg:5:19: bare word <Foo> found, command calls need '()'; quote strings (\"Foo\")");
  EXPECT_EQ(compile_error("route { t_check_status(5); }"),
            "s.cfg:5:24: t_check_status: a regular expression is expected");
  EXPECT_EQ(compile_error("route { t_check_status(\"(4\"); }"),
            "s.cfg:5:24: invalid regular expression \"(4\": Unmatched ( or \\(");
  EXPECT_EQ(compile_error("route { record_route(, \"x\"); }"),
            "s.cfg:5:9: too many parameters for command <record_route>");
  EXPECT_EQ(compile_error("route { t_relay(1, 2, 3); }"),
            "s.cfg:5:9: too many parameters for command <t_relay>");
}

TEST(Script, RunTimeArgumentChecks) {
  // A computed reply code out of range: the call is false and never reaches the env.
  FakeEnv env;
  run("route { $var(c) = 700; if (!sl_send_reply($var(c), \"x\")) xlog(\"refused $rc\"); "
      "$var(c) = \"486\"; sl_send_reply($var(c), \"Busy\"); sl_send_reply(\"$var(c)\", \"B\"); }",
      env);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"refused -1"});
  EXPECT_EQ(env.replies, (std::vector<std::pair<int, std::string>>{{486, "Busy"}, {486, "B"}}));
}

TEST(Script, RegexArguments) {
  FakeEnv env = env_with({{PvId::kSi, "^4[0-9]{2}$"}});
  env.status = "486";
  run("failure_route[f] { exit; }\nroute { t_check_status(\"408|480\"); t_check_status($si); "
      "t_check_status(\"^4\" + \"8\"); }",
      env);
  EXPECT_EQ(env.status_matches, (std::vector<bool>{false, true, true}));
}

TEST(Script, HeaderVariables) {
  FakeEnv env;
  env.headers["Via"] = {"SIP/2.0/TLS a", "SIP/2.0/TLS b", "SIP/2.0/TLS c"};
  env.headers["X-Foo"] = {"bar"};
  run("route { xlog(\"$hdr(Via) | $(hdr(Via)[1]) | $(hdr(Via)[-1]) | $hdr(Via)[2] | "
      "$hdr(X-Foo) | $hdr(X-None)\"); if ($hdr(X-Foo) == \"bar\") xlog(\"cmp\"); }",
      env);
  EXPECT_EQ(env.texts(),
            (std::vector<std::string>{
                "SIP/2.0/TLS a | SIP/2.0/TLS b | SIP/2.0/TLS c | SIP/2.0/TLS c | bar | "
                "<null>",
                "cmp"}));
  ASSERT_FALSE(env.refs.empty());
  EXPECT_EQ(env.refs[0].id, PvId::kHdr);
  EXPECT_EQ(env.ref_names[0], "Via");
  EXPECT_EQ(compile_error("route { if ($hdr) exit; }"),
            "s.cfg:5:13: script variable '$hdr' needs a name: $hdr(name)");
  EXPECT_EQ(compile_error("route { if ($(hdr(Via)[*])) exit; }"),
            "s.cfg:5:13: '$(hdr(Via)[*])': the index [*] is not supported yet");
  EXPECT_EQ(compile_error("route { if ($(rm[1])) exit; }"),
            "s.cfg:5:13: script variable '$(rm[1])' takes no index");
}

TEST(Script, SocketInAndAliases) {
  FakeEnv env =
      env_with({{PvId::kProto, "tls"}, {PvId::kRcvIp, "10.0.0.1"}, {PvId::kRcvPort, 5061}});
  run("route { xlog(\"$socket_in(proto) $socket_in(ip) $socket_in(port) $Ri $Rp $proto\"); }", env);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"tls 10.0.0.1 5061 10.0.0.1 5061 tls"});
  EXPECT_EQ(compile_error("route { if ($socket_in(af)) exit; }"),
            "s.cfg:5:13: unknown script variable '$socket_in(af)' ($socket_in fields: proto, ip, "
            "port)");
}

TEST(Script, Myself) {
  FakeEnv env = env_with({{PvId::kRu, "sip:bob@example.com:5070;transport=tls"},
                          {PvId::kRuHost, "example.com"},
                          {PvId::kToUri, "<sip:alice@[2001:db8::1]>"}});
  run("route { if ($ru == myself) xlog(\"ru\"); if (uri != myself) xlog(\"not\"); "
      "if ($rd == myself) xlog(\"rd\"); if ($tu == myself) xlog(\"tu\"); "
      "if ($du == myself) xlog(\"du\"); if ($du != myself) xlog(\"no du\"); }",
      env);
  EXPECT_EQ(env.calls, (std::vector<std::string>{
                           "is_myself(\"example.com\",5070)", "is_myself(\"example.com\",5070)",
                           "is_myself(\"example.com\")", "is_myself(\"[2001:db8::1]\")"}));
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"ru", "rd", "tu", "no du"}));
  EXPECT_EQ(compile_error("route { if (uri == \"x\") exit; }"),
            "s.cfg:5:20: 'uri' can only be compared with myself (uri == myself); use $ru "
            "otherwise");
  EXPECT_EQ(compile_error("route { if ($ru < myself) exit; }"),
            "s.cfg:5:17: myself can only be compared with == or !=, not '<'");
  EXPECT_EQ(compile_error("route { $var(x) = myself; }"),
            "s.cfg:5:19: 'myself' can only be used on the right of == or != ($rd == myself)");
}

TEST(Script, RouteParameters) {
  FakeEnv env = env_with({{PvId::kSi, "10.0.0.1"}});
  run("route { route(show, \"a\", 5, $si); route(show); }\n"
      "route[show] { xlog(\"[$param(1)] [$param(2)] [$param(3)]\"); if ($param(2) == 5) "
      "route(inner, $param(1) + \"!\"); }\n"
      "route[inner] { xlog(\"inner $param(1) $param(2)\"); }",
      env);
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"[a] [5] [10.0.0.1]", "inner a! <null>",
                                                   "[<null>] [<null>] [<null>]"}));
  EXPECT_EQ(compile_error("route { if ($param(0)) exit; }"),
            "s.cfg:5:13: '$param(0)': the route parameter number must be 1..8");
}

// ---- route types ----------------------------------------------------------------------------

TEST(Script, EveryRouteTypeCompilesAndRuns) {
  auto script = compile(
      "route { t_on_failure(\"f1\"); t_on_reply(\"r1\"); t_on_branch(\"b1\"); }\n"
      "route[sub] { xlog(\"sub\"); }\n"
      "failure_route[f1] { xlog(\"failure\"); if (t_check_status(\"408\")) t_relay(); "
      "return(3); }\n"
      "onreply_route { xlog(\"any reply\"); }\n"
      "onreply_route[r1] { xlog(\"reply\"); drop; }\n"
      "branch_route[b1] { xlog(\"branch\"); route(sub); }\n"
      "local_route { xlog(\"local\"); }\n"
      "error_route { sl_send_reply(400, \"Bad\"); }\n"
      "startup_route { $var(started) = 1; xlog(\"startup\"); }\n"
      "timer_route[tick, 30] { xlog(\"tick\"); }\n"
      "timer_route[tock, 5] { xlog(\"tock\"); }\n"
      "event_route[E_UL_CONTACT_INSERT] { xlog(\"event\"); }\n");
  ASSERT_NE(script, nullptr);
  ScriptVars vars;
  FakeEnv env;
  auto run_ref = [&](RouteRef r) { return script->run(r, env, vars); };
  EXPECT_TRUE(script->main_route().valid());
  ScriptResult fr = run_ref(script->route(RouteType::kFailure, "f1"));
  EXPECT_EQ(fr.outcome, ScriptOutcome::kEnd);
  EXPECT_EQ(fr.retcode, 3);
  EXPECT_EQ(run_ref(script->default_onreply_route()).outcome, ScriptOutcome::kEnd);
  EXPECT_EQ(run_ref(script->route(RouteType::kOnReply, "r1")).outcome, ScriptOutcome::kDrop);
  run_ref(script->route(RouteType::kBranch, "b1"));
  run_ref(script->local_route());
  run_ref(script->error_route());
  run_ref(script->startup_route());
  ASSERT_EQ(script->timer_routes().size(), 2u);
  EXPECT_EQ(script->timer_routes()[0].name, "tick");
  EXPECT_EQ(script->timer_routes()[0].interval, 30);
  EXPECT_EQ(script->timer_routes()[1].interval, 5);
  run_ref(script->timer_routes()[1].route);
  run_ref(script->route(RouteType::kEvent, "E_UL_CONTACT_INSERT"));
  EXPECT_EQ(env.texts(), (std::vector<std::string>{"failure", "any reply", "reply", "branch", "sub",
                                                   "local", "startup", "tock", "event"}));
  EXPECT_EQ(env.replies, (std::vector<std::pair<int, std::string>>{{400, "Bad"}}));
  EXPECT_FALSE(script->route(RouteType::kFailure, "nope").valid());
  EXPECT_FALSE(script->route(RouteType::kEvent, "").valid());
  EXPECT_EQ(script->route_count(RouteType::kRequest), 2u);
  EXPECT_EQ(script->route_name(script->route(RouteType::kFailure, "f1")), "f1");
  // The index t_on_failure() passes is the RouteRef index.
  run_ref(script->main_route());
  EXPECT_EQ(env.calls[env.calls.size() - 3], "t_on_failure(0)");
  // An invalid ref runs nothing.
  EXPECT_EQ(run_ref(RouteRef{RouteType::kLocal, 7}).outcome, ScriptOutcome::kEnd);
}

TEST(Script, RouteDefinitionErrors) {
  EXPECT_EQ(compile_error("failure_route { exit; }"),
            "s.cfg:5:1: 'failure_route' needs a name: failure_route[name] { ... }");
  EXPECT_EQ(compile_error("error_route[x] { exit; }"), "s.cfg:5:13: 'error_route' takes no name");
  EXPECT_EQ(compile_error("timer_route[t] { exit; }"),
            "s.cfg:5:13: timer_route: the interval must be 1..86400 seconds (timer_route[name, "
            "seconds])");
  EXPECT_EQ(compile_error("timer_route { exit; }"),
            "s.cfg:5:1: 'timer_route' needs a name and an interval: timer_route[name, seconds] { "
            "... }");
  EXPECT_EQ(compile_error("onreply_route { exit; }\nonreply_route { drop; }"),
            "s.cfg:6:1: onreply_route is already defined at s.cfg:5:1");
  EXPECT_EQ(compile_error("failure_route[a] { exit; }\nfailure_route[a] { drop; }"),
            "s.cfg:6:15: failure_route 'a' is already defined at s.cfg:5:15");
  // Each route type has its own names.
  EXPECT_EQ(compile_error("failure_route[a] { exit; }\nroute[a] { drop; }\nbranch_route[a] { }"),
            "");
}

TEST(Script, FunctionsAreCheckedAgainstTheRouteType) {
  EXPECT_EQ(compile_error("onreply_route {\n  t_relay();\n}"),
            "s.cfg:6:3: t_relay() cannot be used in onreply_route (allowed in: route, "
            "failure_route)");
  EXPECT_EQ(compile_error("route { exit; }\nbranch_route[b] { sl_send_reply(200, \"OK\"); }"),
            "s.cfg:6:19: sl_send_reply() cannot be used in branch_route (allowed in: route, "
            "error_route)");
  EXPECT_EQ(compile_error("failure_route[f] { loose_route(); }"),
            "s.cfg:5:20: loose_route() cannot be used in failure_route (allowed in: route)");
  // A sub-route runs in the route types it is called from, even through other sub-routes.
  EXPECT_EQ(compile_error("route { route(relay); }\n"
                          "onreply_route[r] { route(outer); }\n"
                          "route[outer] { route(relay); }\n"
                          "route[relay] {\n  if (!t_relay()) exit;\n}"),
            "s.cfg:9:8: t_relay() cannot be used in onreply_route (route[relay] is called from "
            "route[outer] at s.cfg:7:22) (allowed in: route, failure_route)");
  // A sub-route reached only from where its functions are allowed is fine; one never called is
  // not checked.
  EXPECT_EQ(compile_error("route { route(relay); }\nfailure_route[f] { route(relay); }\n"
                          "route[relay] { t_relay(); }\nroute[unused] { t_relay(); }"),
            "");
  // xlog, exit, drop, $var: everywhere.
  EXPECT_EQ(compile_error("onreply_route { $var(x) = 1; xlog(\"x\"); drop; }\n"
                          "startup_route { is_myself(\"a\"); exit; }"),
            "");
}

TEST(Script, RecursionIsBoundedAtRunTime) {
  // Recursion that stops by itself is allowed.
  FakeEnv env;
  run("route { $var(n) = 0; route(count); xlog(\"n=$var(n) rc=$rc\"); }\n"
      "route[count] { $var(n) += 1; if ($var(n) < 50) route(count); return($var(n)); }",
      env);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"n=50 rc=50"});
  // Too deep: logged, the message is dropped.
  FakeEnv deep;
  ScriptResult r;
  run("route { $var(n) = 0; route(count); xlog(\"after\"); }\n"
      "route[count] { $var(n) += 1; if ($var(n) < 500) route(count); }",
      deep, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kDrop);
  EXPECT_TRUE(deep.logs.empty());
  // Recursion that cannot stop (the call comes first) is an error at load.
  EXPECT_EQ(compile_error("route { route(a); }\nroute[a] { route(b); }\nroute[b] { route(a); }"),
            "s.cfg:7:18: recursive route call: route[a] -> route[b] -> route[a]");
}

// ---- names, modules, availability -----------------------------------------------------------

TEST(Script, UnknownAndMisspelledNames) {
  EXPECT_EQ(compile_error("route { t_rely(); }"),
            "s.cfg:5:9: unknown command <t_rely>, missing loadmodule? (did you mean 't_relay'?)");
  EXPECT_EQ(compile_error("route { recordroute(); }"),
            "s.cfg:5:9: unknown command <recordroute>, missing loadmodule? (did you mean "
            "'record_route'?)");
  EXPECT_EQ(compile_error("route { if ($varr(x)) exit; }"),
            "s.cfg:5:13: unknown script variable '$varr(x)' (did you mean '$var'?)");
  EXPECT_EQ(compile_error("route { if ($T_reply_cod == 408) exit; }"),
            "s.cfg:5:13: unknown script variable '$T_reply_cod' (did you mean '$T_reply_code'?)");
  EXPECT_EQ(compile_error("route { nat_uac_test(\"1\"); }"),
            "s.cfg:5:9: OpenSIPS's function nat_uac_test() (module nathelper) is not supported by "
            "sipsd");
  EXPECT_EQ(compile_error("route { route(nop); }\nroute[nope] { }"),
            "s.cfg:5:15: route 'nop' is not defined (did you mean 'nope'?)");
}

TEST(Script, StatementsThatFailToCompileLeaveNothingBehind) {
  // The route() call and the route name inside a statement that does not compile are dropped
  // with it (the fuzzer found them resolved after their statement was gone).
  EXPECT_EQ(compile_error("route { if ($nope) route(a); route(a); }\nroute[a] { }"),
            "s.cfg:5:13: unknown script variable '$nope'");
  EXPECT_EQ(compile_error("route { if ($nope) t_on_failure(\"f\"); else route(a); }\n"
                          "failure_route[f] { } route[a] { }"),
            "s.cfg:5:13: unknown script variable '$nope'");
  EXPECT_EQ(compile_error("route { append_hf($nope, $rm); }"),
            "s.cfg:5:19: unknown script variable '$nope'");
  EXPECT_EQ(compile_error("route { $var(x) = route(a) + $nope; }\nroute[a] { }"),
            "s.cfg:5:30: unknown script variable '$nope'");
}

TEST(Script, ModulesMustBeLoaded) {
  const char* bare = "loadmodule \"proto_tcp.so\"\n\n\nsocket = tcp:127.0.0.1:0\n";
  EXPECT_EQ(compile_error("route { t_relay(); }", bare),
            "s.cfg:5:9: unknown command <t_relay>, missing loadmodule \"tm.so\"?");
  EXPECT_EQ(compile_error("route { if ($T_reply_code == 408) exit; }", bare),
            "s.cfg:5:13: unknown script variable '$T_reply_code', missing loadmodule \"tm.so\"?");
  EXPECT_EQ(compile_error("route { force_rport(); if (is_myself(\"a\")) exit; }", bare), "");
}

TEST(Script, TheProxyFunctionsLoadInSipsd) {
  // Without LoadOptions::allow_unimplemented (sipsd itself): the worker carries out tm, rr,
  // maxfwd, signaling and the message helpers, so they load.
  const LoadOptions sipsd;
  const char* head =
      "loadmodule \"proto_tcp.so\"\nloadmodule \"sl.so\"\n"
      "loadmodule \"sipmsgops.so\"\nsocket = tcp:127.0.0.1:0\n";
  EXPECT_EQ(compile_error("route { force_rport(); }", head, sipsd), "");
  EXPECT_EQ(compile_error("route { append_hf(\"X: 1\\r\\n\"); }", head, sipsd), "");
  EXPECT_EQ(compile_error("route { if ($fu == NULL) exit; }", head, sipsd), "");
  EXPECT_EQ(compile_error("route { if ($ru == myself) exit; }", head, sipsd), "");
  Result<Config> tm = load_config_text(
      "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"maxfwd.so\"\n"
      "loadmodule \"proto_tcp.so\"\nsocket = tcp:127.0.0.1:0\n"
      "route { mf_process_maxfwd_header(10); record_route(); t_relay(); }\n",
      "s.cfg");
  EXPECT_TRUE(tm.ok()) << tm.message();
  // What the worker does offer loads.
  EXPECT_EQ(compile_error("route { $var(x) = $ci + $hdr(Via) + $ft + $tt + $cs; $avp(a) = 1; "
                          "$du = $ru; if (is_method(\"INVITE\")) sl_send_reply(501, \"x\"); "
                          "while ($var(x) == 1) { break; } }",
                          head, sipsd),
            "");
}

TEST(Script, EveryVariableAndFunctionHasATableRow) {
  for (size_t i = 0; i < kPvIdCount; ++i) {
    const cfg::PvDef& d = cfg::pv_def(static_cast<PvId>(i));
    EXPECT_EQ(d.id, static_cast<PvId>(i)) << i;
  }
  for (size_t i = 0; i < kFuncIdCount; ++i) {
    const cfg::FuncDef& d = cfg::func_def(static_cast<FuncId>(i));
    EXPECT_EQ(d.id, static_cast<FuncId>(i)) << d.name;
    EXPECT_LE(d.max_args, cfg::kMaxFuncArgs) << d.name;
    EXPECT_NE(d.routes, 0) << d.name;
  }
  EXPECT_EQ(cfg::func_module(FuncId::kTRelay), "tm");
  EXPECT_EQ(cfg::func_module(FuncId::kIsMyself), "core");
  EXPECT_EQ(cfg::route_mask_text(cfg::func_def(FuncId::kTRelay).routes), "route, failure_route");
}

// ---- xlog, is_method, sl_send_reply, TLS (today's behaviour) --------------------------------

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
  LogLevelScope level(LogLevel::kNotice);
  FakeEnv env = env_with({{PvId::kRm, "INVITE"}});
  run("route { xlog(\"L_INFO\", \"got $rm\"); xlog(\"L_ERR\", \"shown $rm\"); }", env);
  ASSERT_EQ(env.logs.size(), 1u);
  EXPECT_EQ(env.logs[0].second, "shown INVITE");
}

TEST(Script, XlogSubstitution) {
  LogLevelScope level(LogLevel::kDebug);  // every xlog level renders
  FakeEnv env = env_with({{PvId::kRm, "INVITE"},
                          {PvId::kSi, "10.0.0.7"},
                          {PvId::kSp, "40312"},
                          {PvId::kProto, "tls"}});
  run("route {\n"
      "  xlog(\"L_INFO\", \"got $rm from $si:$sp proto=$proto ua=$ua\\n\");\n"
      "  xlog(\"costs $ 5, $(rm) \" 'and $ci' \"\\n\\n\");\n"
      "  xlog(\"L_ERR\", \"plain\");\n"
      "  $var(x) = 3; $avp(y) = \"v\";\n"
      "  xlog(\"$var(x)$avp(y)$(var(x){s.len})$rc\");\n"
      "}",
      env);
  ASSERT_EQ(env.logs.size(), 4u);
  EXPECT_EQ(env.logs[0].first, LogLevel::kInfo);
  EXPECT_EQ(env.logs[0].second, "got INVITE from 10.0.0.7:40312 proto=tls ua=<null>");
  EXPECT_EQ(env.logs[1].first, LogLevel::kNotice);  // one-argument form
  EXPECT_EQ(env.logs[1].second, "costs $ 5, INVITE and <null>");
  EXPECT_EQ(env.logs[2].first, LogLevel::kErr);
  EXPECT_EQ(env.logs[2].second, "plain");
  EXPECT_EQ(env.logs[3].second, "3v11");
}

TEST(Script, XlogErrors) {
  EXPECT_EQ(compile_error("route {\n  xlog(\"L_INFO\", \"x $foo y\");\n}"),
            "s.cfg:6:18: unknown script variable '$foo' in format string");
  EXPECT_EQ(compile_error("route { xlog(\"$hdr\"); }"),
            "s.cfg:5:14: script variable '$hdr' in format string needs a name: $hdr(name)");
  EXPECT_EQ(compile_error("route { xlog(\"$r\"); }"),
            "s.cfg:5:14: unknown script variable '$r' in format string (did you mean '$rm'?)");
  EXPECT_EQ(compile_error("route { xlog(\"$var(x\"); }"),
            "s.cfg:5:14: unbalanced '(' in a script variable of the format string");
  EXPECT_EQ(compile_error("route { xlog(\"L_INFOO\", \"x\"); }"),
            "s.cfg:5:14: xlog: unknown log level 'L_INFOO' (use L_ALERT, L_CRIT, L_ERR, L_WARN, "
            "L_NOTICE, L_INFO or L_DBG) (did you mean 'L_INFO'?)");
  EXPECT_EQ(compile_error("route { xlog($rm); }"),
            "s.cfg:5:14: xlog: a quoted format string is expected");
}

TEST(Script, SlSendReply) {
  FakeEnv env = env_with({{PvId::kRm, "FOO"}});
  ScriptResult r;
  run("route { if (sl_send_reply(\"405\", \"$rm not allowed\")) xlog(\"sent\"); "
      "sl_send_reply(200, \"OK\"); }",
      env, &r);
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
  run("route { sl_send_reply(500, \"x\"); xlog(\"after\"); }", zero, &r);
  EXPECT_EQ(r.outcome, ScriptOutcome::kExit);
  EXPECT_TRUE(zero.logs.empty());
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
  ScriptResult r;
  run("route { is_peer_verified(); xlog(\"after\"); }", env, &r, kTlsHead);
  EXPECT_EQ(env.texts(), std::vector<std::string>{"after"});
  EXPECT_EQ(r.outcome, ScriptOutcome::kEnd);
}

TEST(Script, TlsVariablesInXlog) {
  LogLevelScope level(LogLevel::kDebug);
  FakeEnv env = env_with({{PvId::kTlsPeerVerified, "1"},
                          {PvId::kTlsPeerSubjectCn, "alice.example.com"},
                          {PvId::kTlsPeerNotAfter, "Mar  1 00:53:06 2029 GMT"},
                          {PvId::kTlsPeerFingerprint, "62:72:FF"}});
  run("route { xlog(\"L_INFO\", \"peer=$tls_peer_subject_cn verified=$tls_peer_verified "
      "sni=$(tls_sni) until $tls_peer_notAfter fp=$tls_peer_fingerprint.\\n\"); }",
      env, nullptr, kTlsHead);
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

// The cfg_fuzz seeds (tests/fuzz/corpus/cfg_fuzz) load, so the fuzzer starts from scripts that
// reach the interpreter.
TEST(Script, FuzzSeedsLoad) {
  for (const char* name : {"default.cfg", "proxy.cfg", "language.cfg"}) {
    Result<Config> cfg = load_config(
        std::string(SIPSD_SOURCE_DIR) + "/tests/fuzz/corpus/cfg_fuzz/" + name, all_functions());
    EXPECT_TRUE(cfg.ok()) << name << ": " << (cfg.ok() ? "" : cfg.message());
  }
}

TEST(Script, SharedScriptRunsIndependently) {
  auto script = compile("route { if ($rm == \"A\") { xlog(\"a\"); exit; } xlog(\"other\"); }");
  ASSERT_NE(script, nullptr);
  ScriptVars vars;
  for (int i = 0; i < 3; ++i) {
    FakeEnv a = env_with({{PvId::kRm, "A"}});
    EXPECT_EQ(script->run(script->main_route(), a, vars).outcome, ScriptOutcome::kExit);
    EXPECT_EQ(a.texts(), std::vector<std::string>{"a"});
    FakeEnv b = env_with({{PvId::kRm, "B"}});
    EXPECT_EQ(script->run(script->main_route(), b, vars).outcome, ScriptOutcome::kEnd);
    EXPECT_EQ(b.texts(), std::vector<std::string>{"other"});
  }
}

}  // namespace
}  // namespace sipsd
