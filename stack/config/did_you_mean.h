// "Did you mean": the closest known name to a misspelled one, for error messages about
// unknown keys, flags, actions and enum values.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace tapwire::config {

// Levenshtein distance (insertions, deletions, substitutions).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest of `candidates` to `word` if it is a plausible misspelling: at most two
// edits, and fewer than a third of the word.
std::optional<std::string_view> did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace tapwire::config
