// Closest-name suggestions for cfg error messages: "unknown core parameter 'tcp_worker' (did you
// mean 'tcp_workers'?)".
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd {

// Optimal-string-alignment distance (insert, delete, substitute, swap two adjacent characters),
// ASCII case-insensitive. Returns max_dist + 1 as soon as the distance is known to exceed max_dist.
int edit_distance(std::string_view a, std::string_view b, int max_dist = 3);

// The candidate closest to `word`, or "" when none is close enough: distance <= 1 for words of up
// to 4 characters, <= 2 for longer ones. Ties go to the earlier candidate.
std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
std::string_view did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to an error message.
std::string did_you_mean_suffix(std::string_view word,
                                std::span<const std::string_view> candidates);
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace sipsd
