#include "tls_mgm/openssl_errors.h"

#include <openssl/err.h>

namespace sipsd {

void openssl_clear_errors() {
  ERR_clear_error();
}

std::string openssl_drain_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  unsigned long code;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(code);
    if (reason) {
      out += reason;
    } else {
      char buf[128];
      ERR_error_string_n(code, buf, sizeof buf);
      out += buf;
    }
    if ((flags & ERR_TXT_STRING) && data && *data) {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

}  // namespace sipsd
