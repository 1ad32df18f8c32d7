#include "core/mi/rpc.h"
#include "tests/unit/mi/mi_test_command.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace sipsd {
namespace {

using test::command;

// A registry shaped like OpenSIPS's: log_level's recipes, an array parameter, a command-
// specific error, an alias, and handlers that misbehave.
MiRegistry test_registry() {
  MiRegistry reg;
  reg.add(command("get_statistics", {{"statistics"}}, [](const MiParams& p) -> MiResult {
    auto names = p.get_string_array("statistics");
    if (auto* e = std::get_if<MiError>(&names)) return *e;
    Json out = Json::object();
    for (const std::string& n : std::get<std::vector<std::string>>(names)) out.add(n, 0);
    return out;
  }));
  reg.add(
      command("log_level", {{}, {"level"}, {"level", "pid"}}, [](const MiParams& p) -> MiResult {
        Json out = Json::object();
        if (!p.has("level")) {
          out.add("Processes", Json::array());
          return out;
        }
        auto level = p.get_int("level");
        if (auto* e = std::get_if<MiError>(&level)) return *e;
        if (!p.has("pid")) {
          out.add("New global log level", std::get<int64_t>(level));
          return out;
        }
        auto pid = p.get_int("pid");
        if (auto* e = std::get_if<MiError>(&pid)) return *e;
        if (std::get<int64_t>(pid) != 42)
          return MiError{kMiInvalidParams, "Invalid params", "Bad PID"};
        out.add("Log level", std::get<int64_t>(level));
        return out;
      }));
  reg.add(command("ok", {{}}, [](const MiParams&) -> MiResult { return Json("OK"); }));
  reg.add(command("two_ways", {{"a"}, {"b"}},
                  [](const MiParams& p) -> MiResult { return Json(p.has("a") ? "a" : "b"); }));
  reg.add(command("reset_statistics", {{"statistics"}}, [](const MiParams&) -> MiResult {
    return MiError{404, "Statistics Not Found", {}};
  }));
  MiCommand tls_list =
      command("tls_list", {{}}, [](const MiParams&) -> MiResult { return Json::object(); });
  tls_list.help = "lists all domains";
  tls_list.module = "tls_mgm";
  tls_list.aliases = {"tls_mgm:list"};
  reg.add(std::move(tls_list));
  reg.add(command("throws", {{}},
                  [](const MiParams&) -> MiResult { throw std::runtime_error("boom"); }));
  reg.add(command("no_handler", {{}}, nullptr));
  mi_add_builtins(&reg);
  return reg;
}

class MiRpc : public ::testing::Test {
 protected:
  // The reply line for a request given as JSON text, or "<none>".
  std::string call(const std::string& request) {
    Result<Json> parsed = Json::parse(request);
    EXPECT_TRUE(parsed.ok()) << request << ": " << parsed.message();
    if (!parsed.ok()) return "<bad test JSON>";
    std::optional<Json> reply = mi_handle(reg_, *parsed);
    return reply ? reply->dump() : "<none>";
  }

  MiRegistry reg_ = test_registry();
};

constexpr const char* kInvalidRequest =
    R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null})";

TEST_F(MiRpc, InvalidRequestsAreAnsweredWithNullId) {
  for (const char* bad : {
           R"({"method":"ok","id":1})",                                // no jsonrpc
           R"({"jsonrpc":"1.0","method":"ok","id":1})",                // wrong version
           R"({"jsonrpc":2.0,"method":"ok","id":1})",                  // version not a string
           R"({"jsonrpc":"2.0","id":1})",                              // no method
           R"({"jsonrpc":"2.0","method":7,"id":1})",                   // method not a string
           R"({"jsonrpc":"2.0","method":"ok","params":"x","id":1})",   // params a string
           R"({"jsonrpc":"2.0","method":"ok","params":null,"id":1})",  // params null
           R"({"jsonrpc":"2.0","method":"ok","id":{"a":1}})",          // id an object
           R"({"jsonrpc":"2.0","method":"ok","id":[1]})",              // id an array
           R"({"jsonrpc":"2.0","method":"ok","id":true})",             // id a bool
           R"([{"jsonrpc":"2.0","method":"ok","id":1}])",              // a batch
           R"("just a string")",
       }) {
    EXPECT_EQ(call(bad), kInvalidRequest) << bad;
  }
  // Even without an id (a notification), an invalid request is answered.
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":5})"), kInvalidRequest);
}

TEST_F(MiRpc, EchoesTheIdWithItsType) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"ok","id":"5672"})"),
            R"({"jsonrpc":"2.0","result":"OK","id":"5672"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"ok","id":5672})"),
            R"({"jsonrpc":"2.0","result":"OK","id":5672})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"ok","id":null})"),
            R"({"jsonrpc":"2.0","result":"OK","id":null})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"ok","id":-3})"),
            R"({"jsonrpc":"2.0","result":"OK","id":-3})");
  EXPECT_EQ(call(R"({"id":"x","params":{},"method":"ok","jsonrpc":"2.0"})"),
            R"({"jsonrpc":"2.0","result":"OK","id":"x"})");  // member order is ours
}

TEST_F(MiRpc, NotificationsRunButGetNoReply) {
  int runs = 0;
  reg_.add(command("count", {{}}, [&runs](const MiParams&) -> MiResult {
    ++runs;
    return Json("OK");
  }));
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"count"})"), "<none>");
  EXPECT_EQ(runs, 1);
  // Errors other than Invalid Request are not answered either.
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"nosuch"})"), "<none>");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"get_statistics"})"), "<none>");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"throws"})"), "<none>");
}

TEST_F(MiRpc, UnknownMethod) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"nosuch","id":"1"})"),
            R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"})");
  // Names are case-sensitive.
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"OK","id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1})");
}

TEST_F(MiRpc, EmptyParamsMeanNone) {
  const std::string none = R"({"jsonrpc":"2.0","result":{"Processes":[]},"id":1})";
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","id":1})"), none);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":[],"id":1})"), none);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":{},"id":1})"), none);
  // get_statistics has no empty recipe (as in OpenSIPS 3.6).
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"get_statistics","params":{},"id":"25"})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Too few or too many parameters"},"id":"25"})");
}

TEST_F(MiRpc, PositionalParamsPickTheRecipeByCount) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":["3"],"id":"10"})"),
            R"({"jsonrpc":"2.0","result":{"New global log level":3},"id":"10"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":["3","42"],"id":"11"})"),
            R"({"jsonrpc":"2.0","result":{"Log level":3},"id":"11"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":[4,42],"id":"11"})"),
            R"({"jsonrpc":"2.0","result":{"Log level":4},"id":"11"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":["3","999999"],"id":"13"})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Bad PID"},"id":"13"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":["abc"],"id":"14"})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Bad type for parameter 'level'"},"id":"14"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":["1","2","3"],"id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Too few or too many parameters"},"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"two_ways","params":["x"],"id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Ambiguous call, use named parameters instead"},"id":1})");
}

TEST_F(MiRpc, NamedParamsPickTheRecipeByNameSet) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":{"level":"4"},"id":"10"})"),
            R"({"jsonrpc":"2.0","result":{"New global log level":4},"id":"10"})");
  EXPECT_EQ(
      call(R"({"jsonrpc":"2.0","method":"log_level","params":{"pid":"42","level":2},"id":1})"),
      R"({"jsonrpc":"2.0","result":{"Log level":2},"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"two_ways","params":{"b":1},"id":1})"),
            R"({"jsonrpc":"2.0","result":"b","id":1})");
  const std::string no_match =
      R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
      R"("data":"Named parameters do not match"},"id":1})";
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":{"lvl":"4"},"id":1})"),
            no_match);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"log_level","params":{"pid":"42"},"id":1})"),
            no_match);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"two_ways","params":{"a":1,"b":2},"id":1})"),
            no_match);
}

TEST_F(MiRpc, ArrayParametersAndTheirTypeErrors) {
  EXPECT_EQ(
      call(R"({"jsonrpc":"2.0","method":"get_statistics","params":[["core:","load"]],"id":"20"})"),
      R"({"jsonrpc":"2.0","result":{"core:":0,"load":0},"id":"20"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"get_statistics","params":{"statistics":)"
                 R"(["shmem:"]},"id":"21"})"),
            R"({"jsonrpc":"2.0","result":{"shmem:":0},"id":"21"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"get_statistics","params":["core:"],"id":"24"})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Bad type for parameter 'statistics'"},"id":"24"})");
}

TEST_F(MiRpc, HandlerErrors) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"reset_statistics","params":[["core:"]],"id":"28"})"),
            R"({"jsonrpc":"2.0","error":{"code":404,"message":"Statistics Not Found"},"id":"28"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"throws","id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"Server error",)"
            R"("data":"Command handler failed"},"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"no_handler","id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"Server error",)"
            R"("data":"Command handler returned null"},"id":1})");
}

TEST_F(MiRpc, AliasesResolve) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"tls_mgm:list","id":1})"),
            R"({"jsonrpc":"2.0","result":{},"id":1})");
}

TEST_F(MiRpc, WhichListsNamesThenAliases) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"which","params":{},"id":"7"})"),
            R"({"jsonrpc":"2.0","result":["get_statistics","log_level","ok","two_ways",)"
            R"("reset_statistics","tls_list","throws","no_handler","which","help",)"
            R"("tls_mgm:list"],"id":"7"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"which","params":["log_level"],"id":"8"})"),
            R"({"jsonrpc":"2.0","result":[[],["level"],["level","pid"]],"id":"8"})");
  EXPECT_EQ(
      call(R"({"jsonrpc":"2.0","method":"which","params":{"command":"get_statistics"},"id":"8b"})"),
      R"({"jsonrpc":"2.0","result":[["statistics"]],"id":"8b"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"which","params":["tls_mgm:list"],"id":1})"),
            R"({"jsonrpc":"2.0","result":[[]],"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"which","params":["zzz"],"id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":404,"message":"unknown MI command"},"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"which","params":{"cmd":"ok"},"id":1})"),
            R"({"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params",)"
            R"("data":"Named parameters do not match"},"id":1})");
}

TEST_F(MiRpc, Help) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"help","id":"49"})"),
            R"({"jsonrpc":"2.0","result":"Usage: help mi_cmd - returns information about )"
            R"('mi_cmd'","id":"49"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"help","params":["tls_list"],"id":"50"})"),
            R"({"jsonrpc":"2.0","result":{"Help":"lists all domains","Exported by":"tls_mgm"},)"
            R"("id":"50"})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"help","params":{"mi_cmd":"which"},"id":1})"),
            R"({"jsonrpc":"2.0","result":{"Help":"lists the MI commands, or the parameter sets )"
            R"((recipes) of one","Exported by":"core"},"id":1})");
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","method":"help","params":["zzz"],"id":"51"})"),
            R"({"jsonrpc":"2.0","error":{"code":404,"message":"unknown MI command"},"id":"51"})");
}

TEST_F(MiRpc, ErrorReplyHelper) {
  EXPECT_EQ(mi_error_reply(MiError{-32700, "Parse error", {}}, Json()).dump(),
            R"({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null})");
}

}  // namespace
}  // namespace sipsd
