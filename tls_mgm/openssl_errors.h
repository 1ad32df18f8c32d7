// OpenSSL error-queue hygiene in one place: clear the queue before an SSL_* call whose result
// is inspected, and drain it into one log-ready line afterwards.
#pragma once

#include <string>

namespace sipsd {

void openssl_clear_errors();
// Drains the thread's error queue: "reason (lib:func); reason2 ..." or "" when empty.
std::string openssl_drain_errors();

}  // namespace sipsd
