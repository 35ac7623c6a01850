// Internal to the scenario loader: the state shared by the section readers
// (loader.cpp, load_actions.cpp, load_expectations.cpp) and the value readers they
// have in common. Not part of the public API; include sim/scenario/loader.h instead.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/scenario.h"
#include "stack/config/json_reader.h"
#include "stack/proxy/config_json.h"

namespace tapwire::sim::load {

using config::JsonNode;
using config::JsonReader;

// What kind of action an id must name where it is referenced.
enum class RefKind { connection, ping, dhcp, udp, dns };

struct Reference {
  std::string id;
  RefKind kind;
  std::string path;  // where the reference is written
};

struct LoadContext {
  JsonReader& reader;
  std::string base_dir;
  Duration duration = Duration::max();  // the run's length, once read: later times are errors
  // Action id -> the action's `do` name and where the id was written.
  std::map<std::string, std::pair<std::string_view, std::string>, std::less<>> ids;
  std::vector<Reference> references;
};

// "1.2.3.4:80" (port 1-65535).
void read_endpoint(JsonReader& r, const JsonNode& n, Endpoint& out);
// Hex bytes ("45 00 ...", "45:00:...", "4500..."); false when `text` is not hex.
bool decode_hex(std::string_view text, std::vector<std::uint8_t>& out);
// An integer (pattern bytes, >= 0), a string (text) or {"hex": "..."} (those bytes).
void read_payload(JsonReader& r, const JsonNode& n, Payload& out);
// "to_guest" | "to_proxy" | "both" (both -> nullopt).
void read_direction(JsonReader& r, const JsonNode& n, std::optional<Direction>& out);
// A JSON number or string as a LinkValue (booleans as 0/1 when `bool_as_int`).
std::optional<LinkValue> read_link_value(JsonReader& r, const JsonNode& n, bool bool_as_int = false);
// An object of link keys, optionally with `to_guest` / `to_proxy` sub-objects; each
// key is checked by applying it to scratch LinkParams (sim/link's apply_link_setting).
void read_link_change(JsonReader& r, const JsonNode& n, LinkChange& out);
// A frame match object (sim/link FrameMatch keys, plus `max_len` when allowed).
void read_frame_match(JsonReader& r, const JsonNode& n, FrameMatch& match, std::optional<std::size_t>* max_len);
// A number, or an object of comparison operators.
void read_comparison(JsonReader& r, const JsonNode& n, Comparison& out);
// A host server object (also used by the server_start action).
void read_server(JsonReader& r, const JsonNode& n, ServerSpec& out);
void read_server_proto(JsonReader& r, const JsonNode& n, ServerProto& out);

// Actions and expectations.
std::vector<Action> read_actions(LoadContext& ctx, const JsonNode& n);
void read_expectations(LoadContext& ctx, const JsonNode& n, Expectations& out);
// Records `id` as naming a `kind` action written at `path`; a duplicate is an error.
void register_id(LoadContext& ctx, const std::string& id, std::string_view kind, const std::string& path);
// The required member `key` as an id reference of `kind` (checked once every id is known).
void read_reference(LoadContext& ctx, const JsonNode& n, std::string_view key, RefKind kind, std::string& out);
void read_optional_comparison(JsonReader& r, const JsonNode& n, std::string_view key, std::optional<Comparison>& out);

// DNS (load_dns.cpp): the host section's `dns_servers` and `resolver`, the dns_query
// action, the `dns_query` / `dns_server` conditions (`subject` is which) and at_end
// `strict_check`.
void read_host_dns(JsonReader& r, const JsonNode& host, HostConfig& out);
void read_dns_query_action(LoadContext& ctx, const JsonNode& n, DnsQueryAction& out);
std::optional<Condition> read_dns_condition(LoadContext& ctx, const JsonNode& n, std::string_view subject,
                                            const std::vector<std::string_view>& extra);
void read_strict_checks(JsonReader& r, const JsonNode& n, std::vector<StrictCheckExpectation>& out);
// An rcode: a name as the guest's stub prints it ("NOERROR", "NXDOMAIN", "RCODE6") or 0-15.
void read_dns_rcode(JsonReader& r, const JsonNode& n, std::uint8_t& out);

}  // namespace tapwire::sim::load
