// The message editor and the builders tm uses (core/sip/message_editor.h, request_builder.h,
// local_tag.h): what a stateful proxy spends to turn a parsed message into the one it sends.
// The parsed message and the output string are reused, as a worker would; each iteration
// records the edits again and builds.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/micro/sample_messages.h"
#include "core/sip/header_cursor.h"
#include "core/sip/local_tag.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/sip/request_builder.h"

namespace sipsd::bench {
namespace {

// kInvite with a Route set whose first value is ours.
std::string RoutedInvite() {
  std::string wire(kInvite);
  wire.insert(wire.find("\r\n") + 2,
              "Route: <sip:edge.example.com;lr>, <sip:core.example.com;lr>\r\n");
  return wire;
}

constexpr std::string_view kReply486 =
    "SIP/2.0 486 Busy Here\r\n"
    "Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK2d4790.1.0, "
    "SIP/2.0/TLS 192.0.2.10:50412;branch=z9hG4bK-524287-1---77e1c0de4a5b6c7d;rport=50412;"
    "received=198.51.100.7\r\n"
    "To: <sip:2001@example.com>;tag=8321234356\r\n"
    "From: \"Desk 1042\" <sip:1042@example.com>;tag=3a9d7c11\r\n"
    "Call-ID: 9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49@192.0.2.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// A proxy forwarding an INVITE (RFC 3261 §16.6): our Route value removed, new R-URI,
// Max-Forwards - 1, Record-Route, our Via; then build.
void BM_EditorForwardInvite(benchmark::State& state) {
  std::string wire = RoutedInvite();
  sip::Message msg;
  if (sip::parse_message(wire.data(), wire.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the INVITE does not parse");
    return;
  }
  sip::MessageEditor ed;
  std::string out;
  for (auto _ : state) {
    ed.reset(msg);
    sip::NameAddrCursor routes(msg, sip::HeaderType::kRoute);
    sip::NameAddr ours;
    sip::NameAddr next;
    routes.next(&ours);
    routes.next(&next);
    ed.replace(std::string_view(ours.value.data(),
                                static_cast<size_t>(next.value.data() - ours.value.data())),
               "");
    ed.set_request_uri("sip:2001@192.0.2.20:5061;transport=tls");
    ed.set_max_forwards(static_cast<unsigned>(msg.max_forwards() - 1));
    ed.insert_header_first("Record-Route", "<sip:192.0.2.1:5061;transport=tls;lr;ftag=3a9d7c11>");
    if (ed.push_via("SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK2d4790.1.0") !=
        sip::EditStatus::kOk) {
      state.SkipWithError("an edit failed");
      break;
    }
    ed.build(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(out.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(out.size()) + " B out");
}
BENCHMARK(BM_EditorForwardInvite);

// A proxy forwarding a reply upstream (§16.7 step 3): our via-parm removed; then build.
void BM_EditorReplyRemoveTopVia(benchmark::State& state) {
  std::string wire(kReply486);
  sip::Message msg;
  if (sip::parse_message(wire.data(), wire.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the reply does not parse");
    return;
  }
  sip::MessageEditor ed;
  std::string out;
  for (auto _ : state) {
    ed.reset(msg);
    if (ed.remove_top_via() != sip::EditStatus::kOk) {
      state.SkipWithError("remove_top_via failed");
      break;
    }
    ed.build(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::to_string(out.size()) + " B out");
}
BENCHMARK(BM_EditorReplyRemoveTopVia);

// CANCEL and the ACK of a 486 for a sent INVITE.
void BM_BuildCancelAndAck(benchmark::State& state) {
  std::string wire = RoutedInvite();
  sip::Message inv;
  std::string rwire(kReply486);
  sip::Message reply;
  if (sip::parse_message(wire.data(), wire.size(), &inv).status != sip::ParseStatus::kOk ||
      sip::parse_message(rwire.data(), rwire.size(), &reply).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the input does not parse");
    return;
  }
  std::string cancel;
  std::string ack;
  for (auto _ : state) {
    const bool ok = sip::build_cancel(inv, "", &cancel) && sip::build_non2xx_ack(inv, reply, &ack);
    benchmark::DoNotOptimize(ok);
    if (!ok) {
      state.SkipWithError("a builder refused");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BuildCancelAndAck);

void BM_LocalToTag(benchmark::State& state) {
  std::string wire(kInvite);
  sip::Message msg;
  if (sip::parse_message(wire.data(), wire.size(), &msg).status != sip::ParseStatus::kOk) {
    state.SkipWithError("the INVITE does not parse");
    return;
  }
  const sip::LocalTagGenerator tags(sip::kTmTagSignature, "192.0.2.1", 5061, sip::kTmTagSeparator);
  char buf[sip::LocalTagGenerator::kLength];
  for (auto _ : state) benchmark::DoNotOptimize(tags.make(msg, buf).data());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LocalToTag);

}  // namespace
}  // namespace sipsd::bench
