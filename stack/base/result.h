// Results, not exceptions, on every data path (docs/architecture.md §Packets). An
// Error carries a machine-readable code and a static, human-readable reason; it never
// allocates, so it can be returned per frame.
//
// Result<T, E> is the project's one "a value or an error" type. E defaults to Error;
// code off the data path whose errors must say more (a file name, a JSON path: the
// pcap reader's PcapError, the config loaders' ConfigError) uses the same template
// with its own error type, e.g. Result<PcapWriter, PcapError>.
#pragma once

#include <cassert>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace tapwire {

enum class Errc {
  truncated,        // fewer bytes than a header or length field needs
  bad_length,       // a length field that cannot be true (too small, too large, inconsistent)
  bad_checksum,     // checksum verification failed
  bad_version,      // unsupported version / hardware type / magic
  malformed,        // structurally invalid (bad option layout, bad name, pointer loop, ...)
  unsupported,      // valid but not handled by this implementation
  would_block,      // I/O cannot proceed now; readiness will be signalled later
  refused,          // connection refused / port closed
  limit,            // a configured limit (fds, flows, connections) was hit
  not_found,        // no such handle, flow, name, ...
  invalid_state,    // operation not valid in the current state
  invalid_argument  // caller error
};

std::string_view to_string(Errc code);

struct Error {
  Errc code;
  const char* reason;  // static string; names what was wrong, e.g. "ipv4: total length < header length"

  friend bool operator==(const Error& a, const Error& b) { return a.code == b.code; }
};

inline Error make_error(Errc code, const char* reason) { return Error{code, reason}; }

// Result<T, E>: either a T or an E. Access to the wrong alternative is a
// programming error (asserted), never a data-dependent condition.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// Result<void, E>: success, or an E.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)) {}
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const E& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<E> error_;
};

using Status = Result<void>;

}  // namespace tapwire

// Propagate an error: TW_TRY(auto v, parse(x)); binds v to the value or returns the error.
#define TW_CONCAT_INNER(a, b) a##b
#define TW_CONCAT(a, b) TW_CONCAT_INNER(a, b)
#define TW_TRY(decl, expr)                                   \
  auto TW_CONCAT(tw_try_, __LINE__) = (expr);                \
  if (!TW_CONCAT(tw_try_, __LINE__).ok())                    \
    return TW_CONCAT(tw_try_, __LINE__).error();             \
  decl = std::move(TW_CONCAT(tw_try_, __LINE__)).value()
