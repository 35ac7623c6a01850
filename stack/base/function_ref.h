// FunctionRef<R(Args...)>: a non-owning, non-allocating reference to a callable, in
// the spirit of the C++26 std::function_ref. Used for the per-frame "fill the payload
// in place" writers of the send path, where std::function would allocate for any
// capture larger than its small buffer.
//
// Lifetime: a FunctionRef only points at the callable. Pass it down a call chain
// (the usual case: a lambda written at the call site); never store it beyond the
// call that received it.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace tapwire {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT(google-explicit-constructor): implicit by design, like std::function_ref
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return std::invoke(*static_cast<std::add_pointer_t<std::remove_reference_t<F>>>(object),
                             std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace tapwire
