// sim::Link: the impaired two-way wire between the proxy's end and the guest's end.
//
// Theory of operation. send(dir, frame) copies the frame and decides its fate at once,
// in this order, using the direction's own Rng stream (world.rng(name + ".to_guest")
// or ".to_proxy"), so the two directions never shift each other's draws:
//   1. transmit observers see the frame (a capture at the sender's end sees every frame
//      sent, including those the link will lose);
//   2. targeted rules count matching frames and may drop it or add a delay;
//   3. partition: dropped; MTU black hole: dropped if longer than mtu_blackhole + 14;
//   4. bottleneck (bandwidth > 0): the frame waits until the wire is free, then takes
//      len*8/bandwidth to serialize; if `queue` frames are already waiting (not
//      counting the one being serialized) it is dropped (drop-tail);
//   5. loss on the wire; then propagation delay + jitter (uniform in [0, jitter]);
//   6. FIFO: a frame never arrives before the previous frame of its direction, unless
//      reorder picks it: it then gets reorder_delay extra and later frames overtake it.
//      A rule-delayed frame also leaves the FIFO order;
//   7. corrupt flips one random bit of the copy (still delivered);
//   8. duplicate schedules an exact second copy right after the original.
// At the arrival instant a World event delivers it: counters, the World's RunDigest,
// delivery observers, then the receiver of that direction. A frame still in flight
// when a partition starts is dropped at arrival (counted as partition).
//
// Only Rng draws whose probability is non-zero are made, in the fixed order above.
//
// Lifetimes: the World must outlive the Link (the destructor cancels pending
// deliveries). A receiver must not replace itself (set_receiver) from inside its own
// call; observers may add or remove observers, including themselves, at any time.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/direction.h"
#include "sim/core/event_queue.h"
#include "sim/core/world.h"
#include "sim/link/link_params.h"
#include "sim/link/link_rule.h"
#include "stack/base/bytes.h"
#include "stack/base/rng.h"

namespace tapwire::sim {

struct LinkCounters {
  std::uint64_t sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t delivered = 0;  // duplicates included
  std::uint64_t bytes_delivered = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_queue = 0;
  std::uint64_t dropped_blackhole = 0;
  std::uint64_t dropped_partition = 0;
  std::uint64_t dropped_rule = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0;
  std::uint64_t corrupted = 0;
  std::uint64_t delayed_by_rule = 0;

  std::uint64_t dropped() const {
    return dropped_loss + dropped_queue + dropped_blackhole + dropped_partition + dropped_rule;
  }
};

class Link {
 public:
  using Receiver = std::function<void(Instant, Bytes)>;
  using Observer = std::function<void(Instant, Direction, Bytes)>;
  using ObserverId = std::uint64_t;

  // `name` labels the Rng streams ("<name>.to_guest", "<name>.to_proxy"): give each
  // link of a World its own name.
  explicit Link(World& world, std::string name = "link");
  ~Link();  // cancels the delivery of frames still in flight
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void set_receiver(Direction dir, Receiver receiver);
  void send(Direction dir, Bytes frame);

  const LinkParams& params(Direction dir) const { return side(dir).params; }
  void set_params(Direction dir, const LinkParams& params) { side(dir).params = params; }
  void set_params(const LinkParams& params);  // both directions
  // One key (see link_params.h) for one direction, or both when dir is nullopt.
  // Returns an error message naming the key; on error nothing changes.
  std::optional<std::string> apply(std::string_view key, const LinkValue& value,
                                   std::optional<Direction> dir = std::nullopt);

  void partition() { partitioned_ = true; }
  void heal() { partitioned_ = false; }
  bool partitioned() const { return partitioned_; }

  RuleId add_rule(LinkRule rule);
  bool remove_rule(RuleId id);
  void clear_rules() { rules_.clear(); }
  // Frames the rule matched so far, and how many of them it acted on; nullopt if no
  // such rule (removed or never added).
  std::optional<std::uint64_t> rule_matched(RuleId id) const;
  std::optional<std::uint64_t> rule_fired(RuleId id) const;

  // Transmit: when a sender hands a frame to the link (before any impairment).
  // Delivery: when a frame arrives at the receiving end (after impairments).
  ObserverId on_transmit(Observer observer);
  ObserverId on_delivery(Observer observer);
  bool remove_observer(ObserverId id);

  const LinkCounters& counters(Direction dir) const { return side(dir).counters; }
  std::size_t in_flight() const { return in_flight_; }
  const std::string& name() const { return name_; }

 private:
  struct Side {
    explicit Side(Rng r) : rng(r) {}
    LinkParams params;
    Rng rng;
    Receiver receiver;
    LinkCounters counters;
    Instant last_arrival = Instant::epoch();  // FIFO floor
    Instant wire_free_at = Instant::epoch();  // bottleneck: end of the last serialization
    std::deque<Instant> waiting;              // start times of frames waiting for the wire
  };
  struct Flight {
    std::vector<std::uint8_t> bytes;
    EventId event;
    Direction dir = Direction::to_guest;
    bool in_use = false;
  };
  struct RuleState {
    RuleId id;
    LinkRule rule;
    std::uint64_t matched = 0;
    std::uint64_t fired = 0;
  };
  struct ObserverEntry {
    ObserverId id;
    bool transmit;
    Observer fn;
    bool removed = false;
  };

  Side& side(Direction d) { return sides_[index_of(d)]; }
  const Side& side(Direction d) const { return sides_[index_of(d)]; }
  void schedule_delivery(Direction dir, Instant at, Bytes frame, std::optional<std::size_t> flip_bit);
  void deliver(std::uint32_t slot);
  std::uint32_t take_slot();
  const RuleState* find_rule(RuleId id) const;
  void notify(bool transmit, Instant now, Direction dir, Bytes frame);

  World& world_;
  std::string name_;
  std::array<Side, 2> sides_;
  bool partitioned_ = false;
  std::vector<RuleState> rules_;
  RuleId next_rule_id_ = 1;
  // A deque, so adding an observer from inside a notification moves no running callable;
  // removal while notifying only marks the entry, it is erased afterwards.
  std::deque<ObserverEntry> observers_;
  ObserverId next_observer_id_ = 1;
  int notifying_ = 0;
  std::vector<Flight> flights_;
  std::vector<std::uint32_t> free_flights_;
  std::vector<std::vector<std::uint8_t>> spare_buffers_;
  std::size_t in_flight_ = 0;
};

}  // namespace tapwire::sim
