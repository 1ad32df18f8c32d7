// Helpers shared by the core/sip unit tests.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip::testing_util {

// LF line ends become CRLF; "{CL}" becomes the length of what follows the first empty line.
inline std::string Crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  const size_t cl = out.find("{CL}");
  if (cl != std::string::npos) {
    const size_t sep = out.find("\r\n\r\n");
    const size_t body = sep == std::string::npos ? 0 : out.size() - sep - 4;
    // The placeholder is in the headers, before the body: replacing it does not change body.
    out.replace(cl, 4, std::to_string(body));
  }
  return out;
}

// A message parsed from an exactly-sized heap copy of `wire` (so ASan sees any over-read); the
// Message's views stay valid while this object lives.
class ParsedMessage {
 public:
  explicit ParsedMessage(std::string_view wire)
      : size_(wire.size()), buf_(std::make_unique<char[]>(wire.empty() ? 1 : wire.size())) {
    if (!wire.empty()) memcpy(buf_.get(), wire.data(), wire.size());
    result = parse_message(buf_.get(), size_, &msg);
  }
  bool ok() const { return result.status == ParseStatus::kOk; }
  std::string_view buffer() const { return std::string_view(buf_.get(), size_); }

  ParseResult result{ParseStatus::kUnparseable, "", 0};
  Message msg;

 private:
  size_t size_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace sipsd::sip::testing_util
