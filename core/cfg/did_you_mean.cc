#include "core/cfg/did_you_mean.h"

#include <algorithm>

#include "core/base/ascii.h"

namespace sipsd {

namespace {

int threshold(std::string_view word) {
  return word.size() <= 4 ? 1 : 2;
}

template <class Range>
std::string_view best_match(std::string_view word, const Range& candidates) {
  const int limit = threshold(word);
  std::string_view best;
  int best_dist = limit + 1;
  for (const auto& c : candidates) {
    std::string_view cand(c);
    int d = edit_distance(word, cand, limit);
    if (d < best_dist) {
      best_dist = d;
      best = cand;
    }
  }
  return best;
}

std::string suffix_for(std::string_view match) {
  if (match.empty()) return {};
  std::string s = " (did you mean '";
  s.append(match);
  s += "'?)";
  return s;
}

}  // namespace

int edit_distance(std::string_view a, std::string_view b, int max_dist) {
  const size_t n = a.size(), m = b.size();
  const size_t diff = n > m ? n - m : m - n;
  if (diff > static_cast<size_t>(max_dist)) return max_dist + 1;
  // Three rows of the classic dynamic programme (the third one for transpositions).
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<int>(i);
    int row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      const bool same = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]);
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && ascii_lower(a[i - 1]) == ascii_lower(b[j - 2]) &&
          ascii_lower(a[i - 2]) == ascii_lower(b[j - 1])) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max_dist) return max_dist + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], max_dist + 1);
}

std::string_view did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  return best_match(word, candidates);
}

std::string_view did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  return best_match(word, candidates);
}

std::string did_you_mean_suffix(std::string_view word,
                                std::span<const std::string_view> candidates) {
  return suffix_for(did_you_mean(word, candidates));
}

std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates) {
  return suffix_for(did_you_mean(word, candidates));
}

}  // namespace sipsd
