// Shared declarations of the `tapwire._tapwire` extension: the view structs (Python
// objects that refer to parts of one simulation) and the per-file bind functions.
//
// Views hold a shared_ptr to the SimSession, so a view keeps its simulation alive and
// never dangles: a connection view of an ended connection keeps reporting its final
// state (GuestVm and SimHostNet never free connection records while they live).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <pybind11/pybind11.h>

#include "pybind/sim_session.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/wire/addr.h"

namespace tapwire::pybind {

namespace py = ::pybind11;
using SessionPtr = std::shared_ptr<SimSession>;

// The Python `Sim` object: the session, plus the guard that forbids run_* from inside
// a run_until predicate.
struct PySim {
  SessionPtr session;
  bool running = false;
};

struct GuestView {
  SessionPtr session;
};
struct HostView {
  SessionPtr session;
};
struct ProxyView {
  SessionPtr session;
};
struct LinkView {
  SessionPtr session;
};

// Dotted quad -> address; ValueError naming `what` otherwise.
wire::Ipv4Addr parse_ip(const std::string& text, const char* what);
// "ip:port" -> endpoint; ValueError naming `what` otherwise.
host::Endpoint endpoint_arg(const std::string& text, const char* what);
// Seconds (float) <-> virtual durations. Negative or non-finite -> ValueError naming `what`.
Duration duration_from_seconds(double seconds, const char* what);
inline double to_seconds(Duration d) { return static_cast<double>(d.ns()) / 1e9; }
inline double to_seconds(Instant t) { return static_cast<double>(t.ns()) / 1e9; }
py::bytes to_bytes(const std::uint8_t* data, std::size_t n);
// The bytes of a Python object: bytes, bytearray, memoryview, or anything bytes(x)
// accepts (a scapy packet). TypeError otherwise.
std::string bytes_of(const py::handle& data);
// json.dumps(obj) (for dict arguments that follow the scenario file's sections).
std::string json_dumps(const py::handle& obj);
[[noreturn]] void raise_value_error(const std::string& message);
[[noreturn]] void raise_runtime_error(const std::string& message);

void bind_sim(py::module_& m);
void bind_guest(py::module_& m);
void bind_host(py::module_& m);
void bind_scenario(py::module_& m);
// After bind_sim, bind_guest and bind_host: adds DNS methods to Guest, Host and Proxy.
void bind_dns(py::module_& m);
void bind_wire(py::module_& wire);

}  // namespace tapwire::pybind
