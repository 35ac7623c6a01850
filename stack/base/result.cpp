#include "stack/base/result.h"

namespace tapwire {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::truncated: return "truncated";
    case Errc::bad_length: return "bad_length";
    case Errc::bad_checksum: return "bad_checksum";
    case Errc::bad_version: return "bad_version";
    case Errc::malformed: return "malformed";
    case Errc::unsupported: return "unsupported";
    case Errc::would_block: return "would_block";
    case Errc::refused: return "refused";
    case Errc::limit: return "limit";
    case Errc::not_found: return "not_found";
    case Errc::invalid_state: return "invalid_state";
    case Errc::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

}  // namespace tapwire
