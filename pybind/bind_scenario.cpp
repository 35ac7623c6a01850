// tapwire.run_scenario: the scenario runner (sim/scenario/runner.h), from Python.
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/report.h"
#include "sim/scenario/runner.h"

namespace tapwire::pybind {

namespace {

struct PyExpectation {
  std::string kind, description, reason;
  bool passed = false;
};

struct PyScenarioResult {
  sim::RunResult result;
};

PyScenarioResult run_scenario_py(const py::object& path_or_dict, std::optional<std::uint64_t> seed) {
  sim::ScenarioResult loaded = sim::ScenarioError{};
  if (py::isinstance<py::dict>(path_or_dict)) {
    py::dict doc = py::reinterpret_borrow<py::dict>(path_or_dict).attr("copy")();
    if (!doc.contains("name")) doc["name"] = "python";
    loaded = sim::load_scenario_text(json_dumps(doc), "<python>");
  } else {
    const std::string path = py::module_::import("os").attr("fspath")(path_or_dict).cast<std::string>();
    loaded = sim::load_scenario_file(path);
  }
  if (!loaded.ok()) raise_value_error(loaded.error().to_string());
  sim::RunOptions options;
  options.seed = seed;
  PyScenarioResult out;
  {
    py::gil_scoped_release release;
    out.result = sim::run_scenario(loaded.value(), options);
  }
  return out;
}

}  // namespace

void bind_scenario(py::module_& m) {
  py::class_<PyExpectation>(m, "Expectation", "One checked expectation of a scenario run.")
      .def_readonly("kind", &PyExpectation::kind, "'timed', 'never' or 'at_end'.")
      .def_readonly("description", &PyExpectation::description, "What was expected.")
      .def_readonly("passed", &PyExpectation::passed, "Whether it held.")
      .def_readonly("reason", &PyExpectation::reason, "What was observed.")
      .def("__repr__", [](const PyExpectation& e) {
        return std::string("<tapwire.Expectation ") + (e.passed ? "PASS " : "FAIL ") + e.description + ">";
      });

  py::class_<PyScenarioResult>(m, "ScenarioResult", R"doc(
The result of tapwire.run_scenario, mirroring the JSON report: passed, seed, digest,
stats (every counter by dotted name), expectations (tapwire.Expectation list),
failure (None or why the run itself failed), virtual_time, pcap (the capture's
bytes), report() (the JSON report as a dict) and summary() (the readable text).
)doc")
      .def_property_readonly(
          "passed", [](const PyScenarioResult& r) { return r.result.passed; },
          "True when every expectation held and the run was valid.")
      .def_property_readonly(
          "name", [](const PyScenarioResult& r) { return r.result.scenario; }, "The scenario's name.")
      .def_property_readonly(
          "seed", [](const PyScenarioResult& r) { return r.result.seed; }, "The seed it ran with.")
      .def_property_readonly(
          "digest", [](const PyScenarioResult& r) { return r.result.digest; }, "SHA-256 (hex) of every frame.")
      .def_property_readonly(
          "virtual_time", [](const PyScenarioResult& r) { return to_seconds(r.result.virtual_time); },
          "Virtual seconds run.")
      .def_property_readonly(
          "failure", [](const PyScenarioResult& r) { return r.result.failure; }, "None, or why the run failed.")
      .def_property_readonly(
          "stats", [](const PyScenarioResult& r) { return r.result.stats; }, "Every counter by dotted name.")
      .def_property_readonly(
          "expectations",
          [](const PyScenarioResult& r) {
            std::vector<PyExpectation> out;
            for (const auto& e : r.result.expectations) out.push_back({e.kind, e.description, e.reason, e.passed});
            return out;
          },
          "The expectations, in report order.")
      .def_property_readonly(
          "pcap", [](const PyScenarioResult& r) { return to_bytes(r.result.pcap.data(), r.result.pcap.size()); },
          "The capture (pcap file bytes).")
      .def(
          "report",
          [](const PyScenarioResult& r) {
            return py::module_::import("json").attr("loads")(sim::to_json(r.result).dump());
          },
          "The JSON report as a dict (the same as tapwire-sim run --report).")
      .def(
          "summary", [](const PyScenarioResult& r) { return sim::format_summary(r.result); },
          "The readable summary (PASS/FAIL per expectation, key counters).")
      .def("__repr__", [](const PyScenarioResult& r) {
        return "<tapwire.ScenarioResult " + r.result.scenario + (r.result.passed ? " passed" : " FAILED") +
               " seed=" + std::to_string(r.result.seed) + ">";
      });

  m.def("run_scenario", &run_scenario_py, py::arg("path_or_dict"), py::arg("seed") = py::none(), R"doc(
Runs a scenario (a file path, or a dict with the file's keys; "name" may be left out)
to its end, evaluates its expectations and returns a tapwire.ScenarioResult. ``seed``
overrides the scenario's seed. A scenario that does not load raises ValueError naming
the JSON path. The GIL is released while it runs.
)doc");
}

}  // namespace tapwire::pybind
