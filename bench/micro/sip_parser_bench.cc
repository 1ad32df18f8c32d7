// SIP message parser (core/sip/message.h) and stateless replies (core/sip/sl_reply.h).
//
// parse_message() works in place on the connection's buffer (it may unfold headers there), so
// each iteration first copies the framed message into a reused buffer, as a read would; the
// copy (one memcpy of < 1.2 KB) is part of the measured time. The Message is reused, as
// SipReceiver does.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/micro/sample_messages.h"
#include "core/sip/message.h"
#include "core/sip/sl_reply.h"

namespace sipsd::bench {
namespace {

void BM_SipParse(benchmark::State& state, std::string_view wire, sip::Method expected) {
  std::vector<char> buf(wire.size());
  sip::Message msg;
  for (auto _ : state) {
    memcpy(buf.data(), wire.data(), wire.size());
    sip::ParseResult r = sip::parse_message(buf.data(), buf.size(), &msg);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(msg.headers().data());
    if (r.status != sip::ParseStatus::kOk || msg.method_id() != expected) {
      state.SkipWithError(r.reason);
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(wire.size()) + " B, " + std::to_string(msg.headers().size()) +
                 " headers");
}
BENCHMARK_CAPTURE(BM_SipParse, Options, kOptions, sip::Method::kOptions);
BENCHMARK_CAPTURE(BM_SipParse, Invite, kInvite, sip::Method::kInvite);
BENCHMARK_CAPTURE(BM_SipParse, Register, kRegister, sip::Method::kRegister);

// The lookups the route script and the reply builder make on a parsed message.
void BM_SipParsedAccessors(benchmark::State& state) {
  std::string buf(kInvite);
  sip::Message msg;
  if (sip::parse_message(buf.data(), buf.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the INVITE does not parse");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(msg.call_id());
    benchmark::DoNotOptimize(msg.user_agent());
    benchmark::DoNotOptimize(msg.first(sip::HeaderType::kContact));
    benchmark::DoNotOptimize(msg.top_via());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SipParsedAccessors);

// The stateless reply to an already parsed request (sl_send_reply): Via copied with received=
// and rport=, From/To/Call-ID/CSeq, To tag, Server, Content-Length; into a reused string.
void BM_SlReplyBuild(benchmark::State& state, std::string_view wire, int code,
                     std::string_view reason) {
  std::string buf(wire);
  sip::Message msg;
  if (sip::parse_message(buf.data(), buf.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the request does not parse");
    return;
  }
  sip::ReplyParams params;
  params.source_ip = "198.51.100.7";  // behind NAT: not the Via's sent-by, so received= is added
  params.source_port = 40312;
  params.server = "sipsd (" SIPSD_VERSION ")";
  std::string reply;
  for (auto _ : state) {
    sip::build_stateless_reply(msg, code, reason, params, &reply);
    benchmark::DoNotOptimize(reply.data());
    if (reply.empty()) {
      state.SkipWithError("no reply was built");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(reply.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(reply.size()) + " B reply");
}
BENCHMARK_CAPTURE(BM_SlReplyBuild, Options_200, kOptions, 200, "OK");
BENCHMARK_CAPTURE(BM_SlReplyBuild, Invite_501, kInvite, 501, "Not Implemented");

// Parse + reply: what a worker spends on an OPTIONS apart from the script and the TLS write.
void BM_SipParseAndReply_Options(benchmark::State& state) {
  std::vector<char> buf(kOptions.size());
  sip::Message msg;
  sip::ReplyParams params;
  params.source_ip = "198.51.100.7";
  params.source_port = 40312;
  params.server = "sipsd (" SIPSD_VERSION ")";
  std::string reply;
  for (auto _ : state) {
    memcpy(buf.data(), kOptions.data(), kOptions.size());
    sip::ParseResult r = sip::parse_message(buf.data(), buf.size(), &msg);
    if (r.status != sip::ParseStatus::kOk) {
      state.SkipWithError(r.reason);
      break;
    }
    sip::build_stateless_reply(msg, 200, "OK", params, &reply);
    benchmark::DoNotOptimize(reply.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SipParseAndReply_Options);

}  // namespace
}  // namespace sipsd::bench
