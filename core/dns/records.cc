#include "core/dns/records.h"

#include "core/base/result.h"

namespace sipsd::dns {

const char* rr_type_name(RrType t) {
  switch (t) {
    case RrType::kA:
      return "A";
    case RrType::kCname:
      return "CNAME";
    case RrType::kSoa:
      return "SOA";
    case RrType::kAaaa:
      return "AAAA";
    case RrType::kSrv:
      return "SRV";
    case RrType::kNaptr:
      return "NAPTR";
  }
  return "?";
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kNxDomain:
      return "NXDOMAIN";
    case Outcome::kNoData:
      return "no data";
    case Outcome::kServFail:
      return "SERVFAIL";
    case Outcome::kRefused:
      return "REFUSED";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kBadReply:
      return "bad reply";
    case Outcome::kBadName:
      return "invalid name";
    case Outcome::kError:
      return "error";
  }
  return "?";
}

std::string Question::key() const {
  return std::string(rr_type_name(type)) + "|" + name;
}

std::string describe_failure(const Question& q, const Answer& a) {
  const char* type = rr_type_name(q.type);
  const char* name = q.name.c_str();
  switch (a.outcome) {
    case Outcome::kNxDomain:
      return strprintf("NXDOMAIN for %s", name);
    case Outcome::kNoData:
    case Outcome::kOk:  // asked about an answer without usable records
      return strprintf("no %s record for %s", type, name);
    case Outcome::kError:
      if (!a.detail.empty()) return strprintf("%s for %s (%s)", a.detail.c_str(), name, type);
      break;
    case Outcome::kBadReply:
    case Outcome::kBadName:
      if (!a.detail.empty())
        return strprintf("%s for %s (%s): %s", outcome_name(a.outcome), name, type,
                         a.detail.c_str());
      break;
    default:
      break;
  }
  return strprintf("%s for %s (%s)", outcome_name(a.outcome), name, type);
}

}  // namespace sipsd::dns
