// The `tapwire._tapwire` extension module. The public package is pybind/tapwire/
// (__init__.py re-exports these names; wire.py re-exports the `wire` submodule).
#include "pybind/bindings.h"

PYBIND11_MODULE(_tapwire, m) {
  namespace tp = tapwire::pybind;
  m.doc() = "Tapwire's simulator and packet formats (the compiled half of the `tapwire` package).";
  tp::bind_sim(m);
  tp::bind_guest(m);
  tp::bind_host(m);
  tp::bind_dns(m);
  tp::bind_scenario(m);
  pybind11::module_ wire = m.def_submodule("wire", "Packet formats");
  tp::bind_wire(wire);
}
