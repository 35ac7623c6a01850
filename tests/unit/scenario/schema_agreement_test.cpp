#define BOOST_TEST_MODULE scenario_schema_agreement
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sim/scenario/loader.h"

// scenarios/schema.json and the C++ loader state one contract. For every scenario and
// every deliberately broken file, python3-jsonschema's verdict on the schema must match
// the loader's: both accept scenarios/*.json, both reject scenarios/broken/*.json --
// except semantic_*.json, whose errors (addresses outside the subnet, references to
// unknown ids, times after the end) a JSON Schema cannot express: the schema must accept
// those and the loader reject them. A file that is not JSON gets no schema verdict.

namespace {

const std::string kSource = TAPWIRE_SOURCE_DIR;

enum class SchemaVerdict { valid, invalid, not_json, script_error };

// Runs the script once for all `files` (starting python3-jsonschema per file is slow)
// and returns its verdict on each.
std::map<std::string, SchemaVerdict> schema_verdicts(const std::vector<std::filesystem::path>& files) {
  const std::string out = std::string(TAPWIRE_BINARY_DIR) + "/schema_verdicts.txt";
  std::string command = "/usr/bin/python3 " + kSource + "/tests/scenario/schema_agreement.py --verdicts";
  for (const auto& f : files) command += " '" + f.string() + "'";
  command += " > '" + out + "'";
  std::map<std::string, SchemaVerdict> verdicts;
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return verdicts;
  std::ifstream in(out);
  int code = -1;
  std::string path;
  while (in >> code && std::getline(in >> std::ws, path)) {
    verdicts[path] = code == 0 ? SchemaVerdict::valid
                     : code == 1 ? SchemaVerdict::invalid
                     : code == 3 ? SchemaVerdict::not_json
                                 : SchemaVerdict::script_error;
  }
  return verdicts;
}

SchemaVerdict verdict_of(const std::map<std::string, SchemaVerdict>& verdicts, const std::filesystem::path& file) {
  auto it = verdicts.find(file.string());
  return it == verdicts.end() ? SchemaVerdict::script_error : it->second;
}

std::vector<std::filesystem::path> json_files(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json" && entry.path().filename() != "schema.json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

BOOST_AUTO_TEST_CASE(jsonschema_is_available) {
  const int status = std::system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null");
  BOOST_REQUIRE_MESSAGE(status == 0, "python3-jsonschema is needed (apt-get install python3-jsonschema)");
}

BOOST_AUTO_TEST_CASE(schema_and_loader_agree_on_scenarios) {
  auto files = json_files(kSource + "/scenarios");
  BOOST_TEST(files.size() >= 3u);
  const auto verdicts = schema_verdicts(files);
  for (const auto& file : files) {
    BOOST_TEST_CONTEXT(file.filename().string()) {
      auto loaded = tapwire::sim::load_scenario_file(file.string());
      BOOST_TEST(loaded.ok(), (loaded.ok() ? "" : loaded.error().to_string()));
      BOOST_TEST((verdict_of(verdicts, file) == SchemaVerdict::valid));
    }
  }
}

BOOST_AUTO_TEST_CASE(schema_and_loader_agree_on_broken_files) {
  auto files = json_files(kSource + "/scenarios/broken");
  BOOST_TEST(files.size() >= 12u);
  const auto verdicts = schema_verdicts(files);
  std::size_t not_json = 0, semantic = 0;
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    BOOST_TEST_CONTEXT(name) {
      auto loaded = tapwire::sim::load_scenario_file(file.string());
      BOOST_TEST(!loaded.ok(), "the loader accepted a broken file");
      SchemaVerdict schema = verdict_of(verdicts, file);
      BOOST_TEST((schema != SchemaVerdict::script_error));
      if (schema == SchemaVerdict::not_json) {
        ++not_json;
        BOOST_TEST((!loaded.ok() && loaded.error().message.find("invalid JSON") != std::string::npos));
      } else if (name.rfind("semantic_", 0) == 0) {
        ++semantic;
        BOOST_TEST((schema == SchemaVerdict::valid), "a semantic_ file must pass the schema");
      } else {
        BOOST_TEST((schema == SchemaVerdict::invalid), "the schema accepted a file the loader rejects");
      }
    }
  }
  BOOST_TEST(not_json >= 1u);
  BOOST_TEST(files.size() - not_json - semantic >= 12u);
}
