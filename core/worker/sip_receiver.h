// SipReceiver: what a worker does with one framed SIP message (OpenSIPS's receive_msg): parse
// it, answer invalid requests with 400, run the route script for requests, and send whatever
// the script replies over the connection the message came in on. It sees the connection only
// through MessageOrigin and ReplySink, so it is unit-testable without sockets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/cfg/config.h"
#include "core/cfg/script.h"
#include "core/sip/message.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {

struct MessageOrigin {
  Proto proto = Proto::kTcp;
  std::string_view src_ip;
  uint16_t src_port = 0;
  std::string_view label;  // "tls:1.2.3.4:5060", for log lines
  TlsConnView tls;         // for $tls_* (ssl null: not TLS)
};

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void send_reply(std::string_view bytes) = 0;
};

enum class ReceiveVerdict : uint8_t { kKeep, kClose };

class SipReceiver {
 public:
  SipReceiver(std::shared_ptr<const Script> script, std::string server_header);

  // `data` is one complete message, mutable (the parser unfolds headers in place).
  ReceiveVerdict receive(char* data, size_t len, const MessageOrigin& origin, ReplySink& sink);

 private:
  class Env;

  void reply(const MessageOrigin& origin, ReplySink& sink, int code, std::string_view reason);

  std::shared_ptr<const Script> script_;
  std::string server_header_;
  sip::Message msg_;    // reused for every message
  std::string reply_;   // reused for every reply
  TlsPvCache tls_pvs_;  // $tls_* values of the current message, reset when first used
  ScriptVars vars_;     // $var(x): this process's, kept from one message to the next
  AvpStore avps_;       // $avp(x) of the current message
  // $ru / $du as the script set them for the current message.
  bool ruri_set_ = false;
  std::string ruri_;
  bool du_set_ = false;
  std::string du_;
};

}  // namespace sipsd
