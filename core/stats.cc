#include "core/stats.h"

namespace sipsd {

const char* stat_name(Stat s) {
  switch (s) {
    case Stat::kRcvRequests:
      return "rcv_requests";
    case Stat::kRcvReplies:
      return "rcv_replies";
    case Stat::kDropRequests:
      return "drop_requests";
    case Stat::kErrRequests:
      return "err_requests";
    case Stat::kBadMsgHdr:
      return "bad_msg_hdr";
    case Stat::kSlReplies:
      return "sl_replies";
    case Stat::kConnsHandled:
      return "conns_handled";
    case Stat::kConnsClosed:
      return "conns_closed";
    case Stat::kTlsHandshakesOk:
      return "handshakes_ok";
    case Stat::kTlsHandshakesFailed:
      return "handshakes_failed";
    case Stat::kHandshakeTimeouts:
      return "handshake_timeouts";
    case Stat::kConnectsFailed:
      return "connects_failed";
    case Stat::kSniUnmatched:
      return "sni_unmatched";
    case Stat::kCrlfPings:
      return "crlf_pings";
    case Stat::kChunksExceeded:
      return "chunks_exceeded";
    case Stat::kMsgTimeouts:
      return "msg_timeouts";
    case Stat::kOversized:
      return "oversized";
    case Stat::kFramingErrors:
      return "framing_errors";
    case Stat::kIdleTimeouts:
      return "idle_timeouts";
    case Stat::kWritesQueued:
      return "writes_queued";
    case Stat::kWriteOverflows:
      return "write_overflows";
    case Stat::kBytesIn:
      return "bytes_in";
    case Stat::kBytesOut:
      return "bytes_out";
    case Stat::kConnsAccepted:
      return "conns_accepted";
    case Stat::kConnsRefused:
      return "conns_refused";
    case Stat::kHandoffFailed:
      return "handoff_failed";
    case Stat::kWorkerRespawns:
      return "worker_respawns";
    case Stat::kCount:
      break;
  }
  return "?";
}

}  // namespace sipsd
