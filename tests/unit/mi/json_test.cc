#include "core/mi/json.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

TEST(MiJson, WritesCompactOrderedJsonWithRepeatedKeys) {
  Json conn = Json::object();
  conn.add("ID", 7);
  conn.add("Type", "tls");
  conn.add("Alias port", 5061);
  conn.add("Alias port", 40312);
  Json root = Json::object();
  root.add("jsonrpc", "2.0");
  root.add("result", Json::object()).add("Connections", Json::array()).push(conn);
  root.add("id", "x\"\n\x01");
  EXPECT_EQ(root.dump(),
            "{\"jsonrpc\":\"2.0\",\"result\":{\"Connections\":[{\"ID\":7,\"Type\":\"tls\","
            "\"Alias port\":5061,\"Alias port\":40312}]},\"id\":\"x\\\"\\n\\u0001\"}");
  EXPECT_EQ(Json(true).dump(), "true");
  EXPECT_EQ(Json().dump(), "null");
  EXPECT_EQ(Json(1.5).dump(), "1.5");
}

TEST(MiJson, ParsesThroughProtobuf) {
  auto j = Json::parse(R"( {"jsonrpc":"2.0","method":"ps","params":["3",4,{"a":null}],"id":12} )");
  ASSERT_TRUE(j.ok()) << j.message();
  ASSERT_TRUE(j->is_object());
  EXPECT_EQ(j->find("method")->as_string(), "ps");
  const Json* id = j->find("id");
  ASSERT_TRUE(id && id->is_int());  // whole numbers stay integers, so ids echo as sent
  EXPECT_EQ(id->dump(), "12");
  const Json* params = j->find("params");
  ASSERT_TRUE(params && params->is_array());
  EXPECT_EQ(params->items()[0].as_string(), "3");
  EXPECT_EQ(params->items()[1].as_int(), 4);
  EXPECT_TRUE(params->items()[2].find("a")->is_null());
  EXPECT_FALSE(Json::parse("{\"a\":").ok());
  EXPECT_FALSE(Json::parse("{\"a\":1} trailing").ok());
}

TEST(MiJson, ParsingKeepsOrderRepeatedKeysAndBigIntegers) {
  auto j =
      Json::parse(R"({"z":1,"a":2,"Alias port":5061,"Alias port":40312,"big":9007199254740993})");
  ASSERT_TRUE(j.ok()) << j.message();
  EXPECT_EQ(j->dump(),
            R"({"z":1,"a":2,"Alias port":5061,"Alias port":40312,"big":9007199254740993})");
}

TEST(MiJson, FindsWhereAValueEnds) {
  EXPECT_EQ(json_value_extent("{\"a\":1}{\"b\":2}"), 7u);
  EXPECT_EQ(json_value_extent("  {\"a\":\"}\\\"{\"} rest"), 14u);
  EXPECT_EQ(json_value_extent("{\"a\":[1,2"), 0u);  // not complete yet
  EXPECT_EQ(json_value_extent("   "), 0u);
  EXPECT_EQ(json_value_extent("nope"), std::string_view::npos);
}

}  // namespace
}  // namespace sipsd
