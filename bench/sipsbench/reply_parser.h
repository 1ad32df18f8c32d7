// parse_reply: the three things sipsbench needs from a framed SIP reply (status, Call-ID,
// CSeq), found with one pass over the header lines and no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipsd::bench {

struct ReplyView {
  int status = 0;
  std::string_view call_id;
  uint32_t cseq = 0;
  std::string_view cseq_method;
};

// False when `msg` (one whole message from the framer) is not a SIP reply with a status, a
// Call-ID and a well-formed CSeq; *why then says which.
bool parse_reply(std::string_view msg, ReplyView* out, const char** why);

}  // namespace sipsd::bench
