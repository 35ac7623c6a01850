// Results, not exceptions, on every data path (docs/architecture.md §Packets). An Error carries a
// machine-readable code and a static, human-readable reason; it never allocates, so
// it can be returned per frame. Config loaders, which may allocate, use ConfigError
// (see the scenario loader) instead.
#pragma once

#include <cassert>
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

// Result<T>: either a T or an Error. Access to the wrong alternative is a
// programming error (asserted), never a data-dependent condition.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, error) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(error), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{Errc::invalid_state, ""};
  bool ok_ = true;
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
