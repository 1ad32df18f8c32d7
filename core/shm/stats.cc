#include "core/shm/stats.h"

namespace sipsd {

namespace {

StatInfo transport_info(TStat t, const char* group) {
  switch (t) {
    case TStat::kConnsAccepted:
      return {group, "conns_accepted", true};
    case TStat::kConnsRefused:
      return {group, "conns_refused", true};
    case TStat::kConnsHandled:
      return {group, "conns_handled", true};
    case TStat::kConnsClosed:
      return {group, "conns_closed", true};
    case TStat::kHandshakesOk:
      return {group, "handshakes_ok", true};
    case TStat::kHandshakesFailed:
      return {group, "handshakes_failed", true};
    case TStat::kHandshakeTimeouts:
      return {group, "handshake_timeouts", true};
    case TStat::kSniUnmatched:
      return {group, "sni_unmatched", true};
    case TStat::kVerifyFailed:
      return {group, "verify_failed", true};
    case TStat::kResumed:
      return {group, "resumed", true};
    case TStat::kRecordHandoffs:
      return {group, "record_handoffs", true};
    case TStat::kConnectsFailed:
      return {group, "connects_failed", true};
    case TStat::kCrlfPings:
      return {group, "crlf_pings", true};
    case TStat::kChunksExceeded:
      return {group, "chunks_exceeded", true};
    case TStat::kMsgTimeouts:
      return {group, "msg_timeouts", true};
    case TStat::kOversized:
      return {group, "oversized", true};
    case TStat::kFramingErrors:
      return {group, "framing_errors", true};
    case TStat::kIdleTimeouts:
      return {group, "idle_timeouts", true};
    case TStat::kWritesQueued:
      return {group, "writes_queued", true};
    case TStat::kWriteOverflows:
      return {group, "write_overflows", true};
    case TStat::kBytesIn:
      return {group, "bytes_in", true};
    case TStat::kBytesOut:
      return {group, "bytes_out", true};
    case TStat::kQueuedBytes:
      return {group, "queued_bytes", false};
    case TStat::kCount:
      break;
  }
  return {"", "?", false};
}

}  // namespace

StatInfo stat_info(Stat s) {
  switch (s) {
    case Stat::kRcvRequests:
      return {"core", "rcv_requests", true};
    case Stat::kRcvReplies:
      return {"core", "rcv_replies", true};
    case Stat::kDropRequests:
      return {"core", "drop_requests", true};
    case Stat::kErrRequests:
      return {"core", "err_requests", true};
    case Stat::kBadMsgHdr:
      return {"core", "bad_msg_hdr", true};
    case Stat::kSlSentReplies:
      return {"sl", "sent_replies", true};
    case Stat::kSlSentErrReplies:
      return {"sl", "sent_err_replies", true};
    case Stat::kSl1xx:
      return {"sl", "1xx_replies", true};
    case Stat::kSl2xx:
      return {"sl", "2xx_replies", true};
    case Stat::kSl3xx:
      return {"sl", "3xx_replies", true};
    case Stat::kSl4xx:
      return {"sl", "4xx_replies", true};
    case Stat::kSl5xx:
      return {"sl", "5xx_replies", true};
    case Stat::kSl6xx:
      return {"sl", "6xx_replies", true};
    case Stat::kSlReceivedAcks:
      return {"sl", "received_ACKs", true};
    case Stat::kHandoffFailed:
      return {"core", "handoff_failed", true};
    case Stat::kWorkerRespawns:
      return {"core", "worker_respawns", true};
    case Stat::kWorkerStalls:
      return {"core", "worker_stalls", true};
    case Stat::kDnsQueries:
      return {"dns", "queries", true};
    case Stat::kDnsCacheHits:
      return {"dns", "cache_hits", true};
    case Stat::kDnsFailures:
      return {"dns", "failures", true};
    case Stat::kDnsPending:
      return {"dns", "pending", false};
    case Stat::kDnsPendingLimitHits:
      return {"dns", "pending_limit_hits", true};
    case Stat::kUdpReceived:
      return {"udp", "rcv_datagrams", true};
    case Stat::kUdpSent:
      return {"udp", "sent_datagrams", true};
    case Stat::kUdpDropped:
      return {"udp", "dropped_datagrams", true};
    case Stat::kUdpBytesIn:
      return {"udp", "bytes_in", true};
    case Stat::kUdpBytesOut:
      return {"udp", "bytes_out", true};
    case Stat::kRelayedOut:
      return {"core", "relayed_out", true};
    case Stat::kRelayedIn:
      return {"core", "relayed_in", true};
    case Stat::kRelayLost:
      return {"core", "relay_lost", true};
    case Stat::kAliasRefused:
      return {"core", "alias_refused", true};
    case Stat::kFwdRequests:
      return {"core", "fwd_requests", true};
    case Stat::kFwdReplies:
      return {"core", "fwd_replies", true};
    case Stat::kDropReplies:
      return {"core", "drop_replies", true};
    case Stat::kTmReceivedReplies:
      return {"tm", "received_replies", true};
    case Stat::kTmRelayedReplies:
      return {"tm", "relayed_replies", true};
    case Stat::kTmLocalReplies:
      return {"tm", "local_replies", true};
    case Stat::kTmUas:
      return {"tm", "UAS_transactions", true};
    case Stat::kTmUac:
      return {"tm", "UAC_transactions", true};
    case Stat::kTm2xx:
      return {"tm", "2xx_transactions", true};
    case Stat::kTm3xx:
      return {"tm", "3xx_transactions", true};
    case Stat::kTm4xx:
      return {"tm", "4xx_transactions", true};
    case Stat::kTm5xx:
      return {"tm", "5xx_transactions", true};
    case Stat::kTm6xx:
      return {"tm", "6xx_transactions", true};
    case Stat::kTmInuse:
      return {"tm", "inuse_transactions", false};
    case Stat::kTmRetransmissions:
      return {"tm", "retransmission_req", true};
    case Stat::kTmReplyRetransmissions:
      return {"tm", "retransmission_rpl_T2", true};
    case Stat::kTmRetransmissionsAbsorbed:
      return {"tm", "absorbed_retransmissions", true};
    case Stat::kTmTimeout:
      return {"tm", "timeout_finalresponse", true};
    case Stat::kTmTimeoutInv:
      return {"tm", "timeout_finalresponse_inv", true};
    case Stat::kTmLimitHits:
      return {"tm", "limit_hits", true};
    case Stat::kUlUsers:
      return {"usrloc", "registered_users", false};
    case Stat::kUlLocationUsers:
      return {"usrloc", "location-users", false};
    case Stat::kUlContacts:
      return {"usrloc", "location-contacts", false};
    case Stat::kUlExpires:
      return {"usrloc", "location-expires", true};
    case Stat::kUlTableFull:
      return {"usrloc", "table_full", true};
    case Stat::kRegAccepted:
      return {"registrar", "accepted_regs", true};
    case Stat::kRegRejected:
      return {"registrar", "rejected_regs", true};
    case Stat::kRegMaxExpires:
      return {"registrar", "max_expires", false};
    case Stat::kRegMaxContacts:
      return {"registrar", "max_contacts", false};
    case Stat::kRegDefaultExpire:
      return {"registrar", "default_expire", false};
    case Stat::kAuthChallenges:
      return {"auth", "challenges", true};
    case Stat::kAuthAuthorized:
      return {"auth", "authorized", true};
    case Stat::kAuthFailedResponses:
      return {"auth", "failed_responses", true};
    case Stat::kAuthUnknownUsers:
      return {"auth", "unknown_users", true};
    case Stat::kAuthStaleNonces:
      return {"auth", "stale_nonces", true};
    case Stat::kAuthReplayedNonces:
      return {"auth", "replayed_nonces", true};
    case Stat::kAuthForgedNonces:
      return {"auth", "forged_nonces", true};
    case Stat::kAuthMalformed:
      return {"auth", "malformed_credentials", true};
    case Stat::kAuthNonceIndexFull:
      return {"auth", "nonce_index_full", true};
    case Stat::kAuthSubscribers:
      return {"auth", "subscribers", false};
    case Stat::kAuthCacheFull:
      return {"auth", "subscriber_cache_full", true};
    case Stat::kAuthDbReloads:
      return {"auth", "db_reloads", true};
    case Stat::kAuthDbErrors:
      return {"auth", "db_errors", true};
    case Stat::kAccDbWritten:
      return {"acc", "db_rows_written", true};
    case Stat::kAccDbDropped:
      return {"acc", "db_rows_dropped", true};
    case Stat::kOutboundFlowsFailed:
      return {"outbound", "flows_failed", true};
    case Stat::kOutboundBadTokens:
      return {"outbound", "bad_flow_tokens", true};
    case Stat::kBusyUs:
      return {"", "busy_us", false};
    case Stat::kInboundClosed:
      return {"", "inbound_closed", false};
    default:
      break;
  }
  int i = static_cast<int>(s) - static_cast<int>(Stat::kTransportBase);
  if (i < 0 || i >= 2 * kTStatCount) return {"", "?", false};
  return transport_info(static_cast<TStat>(i % kTStatCount), i < kTStatCount ? "tcp" : "tls");
}

}  // namespace sipsd
