// libFuzzer target for the DNS reply parser: any bytes must give an Answer (ok or an error)
// within the caps of dns_message.h — never a crash, a hang, a leak or an unbounded list. The
// first byte picks the record type asked for. Built with -DSIPSD_FUZZ=ON (clang):
//   ./dns_message_fuzz -max_total_time=60 corpus/
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/dns/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sipsd::dns::RrType;
  if (size < 1) return 0;
  static constexpr RrType kTypes[] = {RrType::kA, RrType::kAaaa, RrType::kSrv, RrType::kNaptr};
  const sipsd::dns::Question q{kTypes[data[0] % 4], "b.example"};
  sipsd::dns::Answer a = sipsd::dns::parse_reply(q, data + 1, size - 1);
  if (a.addresses.size() > sipsd::dns::kMaxAddresses || a.srv.size() > sipsd::dns::kMaxSrvRecords ||
      a.naptr.size() > sipsd::dns::kMaxNaptrRecords)
    std::abort();
  return 0;
}
