// DnsStub: the simulated VM's stub resolver (RFC 1035 §7, as glibc's res_send does it),
// so tests and scenarios can ask DNS questions from the guest and check the answers.
//
// Theory of operation
// - A query (GuestVm::dns_query) is one question with a fresh id from the stub's Rng
//   (a fork "dns" of the guest's stream) unless the caller fixed it. With
//   randomize_case the question name's letters get a random case (0x20 bits, one draw
//   per letter). EDNS adds an OPT record with the given UDP payload size (RFC 6891 §6).
// - The server is the first DNS server of the DHCP lease, else the interface's gateway.
// - UDP: each query has its own ephemeral socket (GuestVm::udp_bind_ephemeral),
//   released when the query is done. The same message is sent again after `timeout`
//   without an answer, `retries` times; `timeout` after the last send the query times
//   out. A send the link refuses stays due (poll_at says now while the link has room).
// - TCP (RFC 1035 §4.2.2, RFC 7766 §6.2.1): each message has a 2-octet length prefix.
//   A channel is one GuestConnection; a plain TCP query has its own, a pipelined
//   batch shares one: every message is written at once and replies are matched by id,
//   in any order. Each query waits `timeout` from its send; the channel closes (FIN)
//   once all its queries are done; a channel that dies or reaches EOF first ends the
//   queries still open with `error`.
// - Accepting a reply (res_send's checks): from the server address and port (UDP; a TCP
//   channel only carries the server), a response (QR) that parses, with our id, and
//   exactly one question equal to ours (name case-insensitive, type, class; glibc's
//   res_queriesmatch). Anything else is ignored and counted, and the query keeps
//   waiting. Then, in order:
//     - randomize_case: the question must echo our name byte for byte, else the query
//       ends `rejected` = "question case not echoed";
//     - TC over UDP with tcp_fallback: the query is asked again over TCP (same id and
//       message; glibc does the same) and `fell_back_to_tcp` is set;
//     - strict: strict_chain_check (dns_answer.h) on the answer section, a failure
//       ends the query `rejected` with its reason.
//   The reply's fields (rcode, flags, answers, raw) are kept even when rejected.
// - The stub holds a query only while it is pending; callers hold shared_ptrs to the
//   result objects, which the stub updates in place until `done` (a flood of queries
//   costs no memory once answered).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/guest/dns_answer.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/wire/addr.h"
#include "stack/wire/dns.h"

namespace tapwire::sim {

class GuestVm;
class GuestConnection;

inline constexpr std::uint16_t kDnsPort = 53;

struct DnsQueryOptions {
  std::string name;                             // presentation format, "www.example.com"
  std::uint16_t qtype = wire::dns_type::A;      // parse_qtype() reads mnemonics
  bool tcp = false;                             // ask over TCP from the start
  bool strict = false;                          // strict_chain_check the answer
  std::optional<wire::Ipv4Addr> server;         // default: lease DNS server, else gateway
  std::uint16_t port = kDnsPort;
  std::optional<std::uint16_t> id;              // default: drawn from the stub's Rng
  bool randomize_case = false;                  // 0x20: random letter case, echo required
  std::optional<std::uint16_t> edns;            // add OPT with this UDP payload size
  Duration timeout = Duration::seconds(5);      // per transmission (RES_TIMEOUT)
  std::uint32_t retries = 1;                    // UDP retransmissions after the first send
  bool tcp_fallback = true;                     // TC=1 over UDP: ask again over TCP
};

enum class DnsTransport : std::uint8_t { none, udp, tcp };
std::string_view to_string(DnsTransport t);

// One query and, once `done`, its outcome. Exactly one of these holds when done:
// answered (answered_at set; `rejected` may be set too), timed_out, or error.
struct GuestDnsQuery {
  // --- what was asked ---
  DnsQueryOptions options;
  wire::Ipv4Addr server;                 // resolved
  std::uint16_t id = 0;
  wire::DnsName qname;                   // as sent (0x20 case applied)
  std::vector<std::uint8_t> question;    // the query message as sent (no TCP length prefix)
  bool pipelined = false;

  // --- progress ---
  bool done = false;
  bool timed_out = false;
  std::optional<std::string> error;      // local failure: bad name, no address/server, TCP died
  std::optional<std::string> rejected;   // an answer arrived but the client refused it
  std::optional<Instant> sent_at;        // first transmission
  std::optional<Instant> answered_at;
  std::uint32_t udp_sends = 0;           // first send and retransmissions
  DnsTransport transport_used = DnsTransport::none;  // of the accepted reply
  bool fell_back_to_tcp = false;

  // --- the accepted reply ---
  std::uint8_t rcode = 0;                // header rcode (4 bits)
  std::uint16_t flags = 0;               // header flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode)
  bool truncated = false;                // TC on the final reply
  std::vector<wire::DnsRecord> answers;  // answer section, wire order
  std::vector<std::uint8_t> raw;         // the reply message

  // --- replies ignored while waiting ---
  std::uint32_t ignored_wrong_source = 0;
  std::uint32_t ignored_wrong_id = 0;
  std::uint32_t ignored_wrong_question = 0;
  std::uint32_t ignored_malformed = 0;

  std::string rcode_name() const { return sim::rcode_name(rcode); }
  bool answered() const { return answered_at.has_value(); }
  // Answered, accepted, NOERROR.
  bool ok() const { return done && answered() && !rejected && rcode == wire::dns_rcode::NOERROR; }
};

struct GuestDnsCounters {
  std::uint64_t queries = 0;
  std::uint64_t udp_sent = 0;           // datagrams, retransmissions included
  std::uint64_t tcp_channels = 0;       // TCP connections opened
  std::uint64_t tcp_fallbacks = 0;
  std::uint64_t answered = 0;
  std::uint64_t rejected = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t failed = 0;             // ended with `error`
  std::uint64_t ignored_wrong_source = 0;
  std::uint64_t ignored_wrong_id = 0;   // includes TCP replies whose id no open query has
  std::uint64_t ignored_wrong_question = 0;
  std::uint64_t ignored_malformed = 0;  // unparsable, not a response, or a bad TCP frame
};

using GuestDnsQueryPtr = std::shared_ptr<GuestDnsQuery>;

class DnsStub {
 public:
  DnsStub(GuestVm& vm, Rng rng) : vm_(vm), rng_(std::move(rng)) {}
  DnsStub(const DnsStub&) = delete;
  DnsStub& operator=(const DnsStub&) = delete;

  GuestDnsQueryPtr query(Instant now, const DnsQueryOptions& options);
  // All over ONE new TCP connection, written back to back (each options' `tcp` is
  // ignored; ids drawn distinct within the batch unless fixed).
  std::vector<GuestDnsQueryPtr> query_pipelined(Instant now, const std::vector<DnsQueryOptions>& options);

  // Called from GuestVm::poll after the applications were serviced (received TCP bytes
  // are then in the channels' connections).
  void poll(Instant now);
  std::optional<Instant> poll_at(Instant now, bool link_room) const;

  std::size_t pending() const { return active_.size(); }
  const GuestDnsCounters& counters() const { return counters_; }

 private:
  struct Channel;
  struct Active {
    GuestDnsQueryPtr q;
    std::optional<std::uint16_t> udp_port;  // while asking over UDP
    bool udp_due = false;
    std::uint32_t udp_left = 0;             // retransmissions left
    Channel* channel = nullptr;             // while asking over TCP
    Instant deadline = Instant::never();
  };
  struct Channel {
    GuestConnection* conn = nullptr;
    std::vector<std::uint8_t> rx;
    std::vector<Active*> members;
  };
  // Ordered by how close a reply came to being ours.
  enum class Verdict : std::uint8_t { malformed, wrong_id, wrong_question, accept };

  // Fills q's request side; false (and q ended with error) when it cannot be asked.
  bool prepare(GuestDnsQuery& q, const std::vector<std::uint16_t>& taken_ids);
  Active& add(GuestDnsQueryPtr q);
  void open_channel(Instant now, std::vector<Active*> members);
  void poll_udp(Instant now, Active& a);
  void poll_channel(Instant now, Channel& ch);
  static Verdict check_reply(const GuestDnsQuery& q, const wire::DnsMessage& m);
  void count_ignored(GuestDnsQuery* q, Verdict v);
  // An accepted reply (check_reply said accept): fallback, 0x20 and strict checks.
  void take_reply(Instant now, Active& a, const wire::DnsMessage& m, Bytes raw, DnsTransport via);
  void finish(Active& a);
  void fail(Active& a, std::string why);
  void release_udp(Active& a);

  GuestVm& vm_;
  Rng rng_;
  std::vector<std::unique_ptr<Active>> active_;
  std::vector<std::unique_ptr<Channel>> channels_;
  GuestDnsCounters counters_;
};

}  // namespace tapwire::sim
