// Via branch parameters of the requests sipsd sends (RFC 3261 §8.1.1.7: they start with the
// magic cookie "z9hG4bK" and are unique per transaction).
//
// A stateful branch names the worker that holds the transaction, the transaction and the branch
// number, so a reply that arrives at any worker (another connection, the shared UDP socket
// group) goes straight to its transaction, and one for a transaction that no longer exists (or
// that a previous incarnation of a worker held) is recognised as such:
//
//   z9hG4bK-sd<owner>.<transaction>.<branch>        (hexadecimal, lower case)
//
// The transaction number carries a random part drawn when the worker starts, so numbers are
// not reused across restarts. A stateless branch (forward()) is a hash of what identifies the
// incoming request's transaction, so a retransmission leaves with the same branch (RFC 3261
// §16.11):   z9hG4bK-sl<hash>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipsd::tm {

inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct BranchId {
  int owner = 0;  // process index of the worker
  uint64_t transaction = 0;
  int branch = 0;  // 0..kMaxBranches-1; kMaxBranches for a CANCEL/ACK we generate
};

// "z9hG4bK-sd3.1f0a2b3c00000012.0"
std::string encode_branch(const BranchId& id);
// nullopt when `branch` is not one of our stateful branches.
std::optional<BranchId> decode_branch(std::string_view branch);

// The branch forward() gives a request: the same for the same incoming transaction. `key` is
// what identifies it (the incoming top branch when it has the cookie, else Call-ID, From tag,
// CSeq number and the top Via).
std::string stateless_branch(std::string_view key);

}  // namespace sipsd::tm
