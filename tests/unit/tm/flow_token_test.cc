// RFC 5626 flow tokens: what an edge proxy writes into Path and Record-Route user parts comes
// back as the same flow, and nothing else passes for one.
#include "core/tm/flow_token.h"

#include <gtest/gtest.h>

#include <string>

namespace sipsd::tm {
namespace {

const std::string kKey(kFlowTokenKeySize, 'k');

Flow tls_flow() {
  Flow f;
  f.proto = Proto::kTls;
  f.ip = "192.0.2.7";
  f.port = 40312;
  f.listener = 2;
  f.conn_id = 0xdeadbeef;
  return f;
}

TEST(FlowToken, RoundTripsEveryField) {
  const std::string token = encode_flow_token(kKey, tls_flow());
  ASSERT_TRUE(token.starts_with("flow-")) << token;
  Flow out;
  ASSERT_EQ(decode_flow_token(kKey, token, &out), FlowTokenStatus::kOk);
  EXPECT_EQ(out.proto, Proto::kTls);
  EXPECT_EQ(out.ip, "192.0.2.7");
  EXPECT_EQ(out.port, 40312);
  EXPECT_EQ(out.listener, 2);
  EXPECT_EQ(out.conn_id, 0xdeadbeefu);
}

TEST(FlowToken, Ipv6UdpAndAnOutboundConnection) {
  Flow f;
  f.proto = Proto::kUdp;
  f.ip = "2001:db8::1";
  f.port = 5060;
  f.listener = -1;
  const std::string token = encode_flow_token(kKey, f);
  Flow out;
  ASSERT_EQ(decode_flow_token(kKey, token, &out), FlowTokenStatus::kOk) << token;
  EXPECT_EQ(out.proto, Proto::kUdp);
  EXPECT_EQ(out.ip, "2001:db8::1");
  EXPECT_EQ(out.listener, -1);
  EXPECT_EQ(out.conn_id, 0u);
}

TEST(FlowToken, IsAValidSipUserPart) {
  const std::string token = encode_flow_token(kKey, tls_flow());
  for (char c : token)
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-') << token;
}

TEST(FlowToken, AnyChangedCharacterIsForged) {
  const std::string token = encode_flow_token(kKey, tls_flow());
  for (size_t i = kFlowTokenPrefix.size(); i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = bad[i] == '0' ? '1' : '0';
    Flow out;
    EXPECT_EQ(decode_flow_token(kKey, bad, &out), FlowTokenStatus::kForged) << i;
  }
}

TEST(FlowToken, AnotherKeyTruncationAndGarbageAreForged) {
  const std::string token = encode_flow_token(kKey, tls_flow());
  Flow out;
  EXPECT_EQ(decode_flow_token(std::string(kFlowTokenKeySize, 'x'), token, &out),
            FlowTokenStatus::kForged);
  EXPECT_EQ(decode_flow_token(kKey, token.substr(0, token.size() - 2), &out),
            FlowTokenStatus::kForged);
  EXPECT_EQ(decode_flow_token(kKey, token + "00", &out), FlowTokenStatus::kForged);
  EXPECT_EQ(decode_flow_token(kKey, "flow-", &out), FlowTokenStatus::kForged);
  EXPECT_EQ(decode_flow_token(kKey, "flow-zz", &out), FlowTokenStatus::kForged);
  EXPECT_EQ(decode_flow_token(kKey, "flow-" + std::string(200, 'a'), &out),
            FlowTokenStatus::kForged);
}

TEST(FlowToken, AnOrdinaryUserIsNotAToken) {
  Flow out;
  EXPECT_EQ(decode_flow_token(kKey, "alice", &out), FlowTokenStatus::kNotAToken);
  EXPECT_EQ(decode_flow_token(kKey, "", &out), FlowTokenStatus::kNotAToken);
}

TEST(FlowToken, ANameIsNotAnAddress) {
  Flow f = tls_flow();
  f.ip = "edge.example";
  EXPECT_EQ(encode_flow_token(kKey, f), "");
}

}  // namespace
}  // namespace sipsd::tm
