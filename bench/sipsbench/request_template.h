// RequestTemplate: one SIP request formatted once per connection; each request sent is the
// template copied into the output buffer with three fixed-width fields patched in place:
//
//   Via: ...;branch=z9hG4bK.sb<tag>.<slot>.<seq>
//   Call-ID: sb<tag>.<slot>.<seq>@sipsbench
//   CSeq: <seq> METHOD
//
// tag = 8 hex digits naming the connection, slot = 4 hex digits (the in-flight slot), seq = 9
// decimal digits (the connection's request counter). A reply carries Call-ID and CSeq back, so
// decode_call_id() finds the request it answers without any lookup table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/sipsbench/options.h"

namespace sipsd::bench {

inline constexpr uint32_t kMaxSeq = 999999999;  // 9 digits; the counter wraps to 1 after it

// A connection tag: the worker's index in the top byte, the connection's number below.
inline uint32_t make_conn_tag(int worker_index, uint32_t n) {
  return static_cast<uint32_t>(worker_index) << 24 | n;
}

struct RequestSpec {
  Transport transport = Transport::kTls;
  std::string method = "OPTIONS";  // OPTIONS, MESSAGE, REGISTER
  int body_size = 0;               // MESSAGE only
  std::string target_ip;
  uint16_t target_port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  uint32_t tag = 0;  // names the connection in Call-ID and branch
};

// A request to --target from a connection whose local port is `local_port` (on loopback the
// local address is the target's), its Call-IDs carrying `tag`.
RequestSpec target_request(const Options& options, const std::string& method, int body_size,
                           uint16_t local_port, uint32_t tag);

class RequestTemplate {
 public:
  RequestTemplate() = default;
  explicit RequestTemplate(const RequestSpec& spec);

  // Appends one request for (slot, seq) to *out. seq in [1, kMaxSeq].
  void append_to(std::string* out, uint16_t slot, uint32_t seq) const;

  size_t size() const { return text_.size(); }
  const std::string& method() const { return method_; }
  uint32_t tag() const { return tag_; }

 private:
  std::string text_;
  std::string method_;
  uint32_t tag_ = 0;
  size_t branch_at_ = 0;   // offset of "<slot>.<seq>" in the branch
  size_t call_id_at_ = 0;  // offset of "<slot>.<seq>" in the Call-ID
  size_t cseq_at_ = 0;     // offset of "<seq>" in CSeq
};

struct CallIdFields {
  uint32_t tag = 0;
  uint16_t slot = 0;
  uint32_t seq = 0;
};

// Decodes a Call-ID made by RequestTemplate; false when it is not one of ours.
bool decode_call_id(std::string_view call_id, CallIdFields* out);

}  // namespace sipsd::bench
