// Shaping the DNS service's replies (docs/architecture.md §DNS): the replies it makes
// itself, the relay of an upstream's reply, and the fit to a UDP client's size.
//
// - A relayed reply is the upstream's message byte for byte (rcode, flags, all four
//   sections, EDNS OPT, record order: nothing is rebuilt, so nothing is lost or
//   duplicated, unlike gvisor-tap-vsock#612), except the id, which becomes the
//   client's, and the question name, which becomes the client's own bytes (the same
//   name, so only letter case can differ: a 0x20-randomised client sees its letters
//   even when the upstream folded them). Before that, the reply is checked: it parses
//   whole (no compression loop, no length past the end), is a response, carries the
//   id we sent and exactly our question (name without case, type, class). Anything
//   else is not an answer to us.
// - UDP size (RFC 1035 §4.2.1, RFC 6891 §6.2.5): the client's EDNS payload size (at
//   least 512), else 512. A longer reply is cut at a record boundary with TC=1
//   (DnsMessage::truncated_to); the client then asks again over TCP and gets it whole.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/dns.h"

namespace tapwire::proxy {

enum class DnsTransport : std::uint8_t { udp, tcp };

// A reply with the client's id and flags but no question: for queries whose body we
// cannot trust (RFC 1035 §4.1.1: FORMERR, NOTIMP).
std::vector<std::uint8_t> dns_bare_reply(std::uint16_t id, std::uint16_t flags, std::uint8_t rcode);

// A reply to `query` made here: the question echoed, RA set (recursion is offered),
// the client's EDNS answered with an OPT of our own when it sent one.
wire::DnsMessage dns_local_reply(const wire::DnsMessage& query, std::uint8_t rcode);

// The largest UDP reply the client takes.
std::size_t dns_udp_limit(const wire::DnsMessage& query);

// The reply cut to `limit` bytes when it is longer (TC set when answer or authority
// records had to go). Nothing when even a header does not fit.
std::optional<std::vector<std::uint8_t>> dns_fit(std::vector<std::uint8_t> reply, std::size_t limit);

// True when the TC bit of an encoded message is set.
bool dns_truncated(Bytes message);
std::uint8_t dns_rcode_of(Bytes message);
// SERVFAIL or REFUSED: the server could not answer, another may (RFC 1035 §7.2).
// Every other rcode, NXDOMAIN included, is an answer.
bool dns_server_failed(Bytes reply);

// Why an upstream's datagram is not the answer to our query.
enum class UpstreamReplyProblem : std::uint8_t { malformed, not_ours };

// The upstream's reply as the client's (see the file comment), or why it is not one.
// `sent_id` is the id of our query to the upstream; `client` is the client's query.
Result<std::vector<std::uint8_t>, UpstreamReplyProblem> dns_relay(Bytes upstream_reply, std::uint16_t sent_id,
                                                                  const wire::DnsMessage& client);

}  // namespace tapwire::proxy
