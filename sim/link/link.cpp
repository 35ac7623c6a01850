#include "sim/link/link.h"

#include <algorithm>
#include <utility>

namespace tapwire::sim {

Link::Link(World& world, std::string name)
    : world_(world),
      name_(std::move(name)),
      sides_{Side(world.rng(name_ + ".to_guest")), Side(world.rng(name_ + ".to_proxy"))} {}

Link::~Link() {
  for (Flight& f : flights_) {
    if (f.in_use) world_.cancel(f.event);
  }
}

void Link::set_receiver(Direction dir, Receiver receiver) { side(dir).receiver = std::move(receiver); }

void Link::set_params(const LinkParams& params) {
  for (Side& s : sides_) s.params = params;
}

std::optional<std::string> Link::apply(std::string_view key, const LinkValue& value, std::optional<Direction> dir) {
  // Validate on a copy first so a bad value changes neither direction.
  LinkParams probe = dir ? params(*dir) : params(Direction::to_guest);
  if (auto err = apply_link_setting(probe, key, value)) return err;
  for (Direction d : kDirections) {
    if (dir && *dir != d) continue;
    (void)apply_link_setting(side(d).params, key, value);
  }
  return std::nullopt;
}

RuleId Link::add_rule(LinkRule rule) {
  const RuleId id = next_rule_id_++;
  rules_.push_back(RuleState{id, std::move(rule)});
  return id;
}

bool Link::remove_rule(RuleId id) {
  auto it = std::find_if(rules_.begin(), rules_.end(), [id](const RuleState& r) { return r.id == id; });
  if (it == rules_.end()) return false;
  rules_.erase(it);
  return true;
}

const Link::RuleState* Link::find_rule(RuleId id) const {
  for (const RuleState& r : rules_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::optional<std::uint64_t> Link::rule_matched(RuleId id) const {
  const RuleState* r = find_rule(id);
  return r ? std::optional<std::uint64_t>(r->matched) : std::nullopt;
}

std::optional<std::uint64_t> Link::rule_fired(RuleId id) const {
  const RuleState* r = find_rule(id);
  return r ? std::optional<std::uint64_t>(r->fired) : std::nullopt;
}

Link::ObserverId Link::on_transmit(Observer observer) {
  observers_.push_back(ObserverEntry{next_observer_id_, true, std::move(observer), false});
  return next_observer_id_++;
}

Link::ObserverId Link::on_delivery(Observer observer) {
  observers_.push_back(ObserverEntry{next_observer_id_, false, std::move(observer), false});
  return next_observer_id_++;
}

bool Link::remove_observer(ObserverId id) {
  auto it = std::find_if(observers_.begin(), observers_.end(),
                         [id](const ObserverEntry& o) { return o.id == id && !o.removed; });
  if (it == observers_.end()) return false;
  if (notifying_ > 0) {
    it->removed = true;  // erased after the notification loop
  } else {
    observers_.erase(it);
  }
  return true;
}

void Link::notify(bool transmit, Instant now, Direction dir, Bytes frame) {
  if (observers_.empty()) return;
  ++notifying_;
  // Index loop: an observer may add or remove observers.
  for (std::size_t i = 0; i < observers_.size(); ++i) {
    const ObserverEntry& o = observers_[i];
    if (o.transmit == transmit && !o.removed) o.fn(now, dir, frame);
  }
  if (--notifying_ == 0) {
    std::erase_if(observers_, [](const ObserverEntry& o) { return o.removed; });
  }
}

void Link::send(Direction dir, Bytes frame) {
  Side& s = side(dir);
  const Instant now = world_.now();
  const LinkParams& p = s.params;
  s.counters.sent++;
  s.counters.bytes_sent += frame.size();
  notify(true, now, dir, frame);

  // 2. Targeted rules see every frame sent, before any random impairment.
  Duration rule_delay = Duration::zero();
  bool rule_delayed = false;
  if (!rules_.empty()) {
    const FrameInfo info = wire::classify_frame(frame);
    for (RuleState& r : rules_) {
      if (!r.rule.match.matches(dir, info)) continue;
      ++r.matched;
      if (!r.rule.every && r.matched != r.rule.nth) continue;
      ++r.fired;
      if (r.rule.action == RuleAction::drop) {
        s.counters.dropped_rule++;
        return;
      }
      rule_delay += r.rule.delay;
      rule_delayed = true;
    }
  }
  if (rule_delayed) s.counters.delayed_by_rule++;

  // 3. Partition and MTU black hole.
  if (partitioned_) {
    s.counters.dropped_partition++;
    return;
  }
  if (p.mtu_blackhole != 0 && frame.size() > std::size_t{p.mtu_blackhole} + 14) {
    s.counters.dropped_blackhole++;
    return;
  }

  // 4. Bottleneck: serialization one frame after the other, drop-tail queue.
  Instant tx_start = now;
  Duration serialization = Duration::zero();
  if (p.bandwidth_bps > 0) {
    while (!s.waiting.empty() && s.waiting.front() <= now) s.waiting.pop_front();
    if (p.queue_frames > 0 && s.waiting.size() >= p.queue_frames) {
      s.counters.dropped_queue++;
      return;
    }
    tx_start = std::max(now, s.wire_free_at);
    const std::uint64_t bits = std::uint64_t{frame.size()} * 8;
    const std::uint64_t ns = (bits * 1'000'000'000ULL + p.bandwidth_bps - 1) / p.bandwidth_bps;
    serialization = Duration::nanos(static_cast<std::int64_t>(ns));
    s.wire_free_at = tx_start + serialization;
    if (tx_start > now) s.waiting.push_back(tx_start);
  }

  // 5. Loss on the wire, propagation delay and jitter.
  if (p.loss > 0 && s.rng.chance(p.loss)) {
    s.counters.dropped_loss++;
    return;
  }
  Instant arrival = tx_start + serialization + p.delay;
  if (p.jitter > Duration::zero()) {
    arrival += Duration::nanos(static_cast<std::int64_t>(s.rng.below(static_cast<std::uint64_t>(p.jitter.ns()) + 1)));
  }

  // 6. FIFO unless reordered (or delayed by a rule).
  if (p.reorder > 0 && s.rng.chance(p.reorder)) {
    arrival += p.reorder_delay;
    s.counters.reordered++;
  } else if (!rule_delayed) {
    arrival = std::max(arrival, s.last_arrival);
    s.last_arrival = arrival;
  }
  arrival += rule_delay;

  // 7. Corruption: one bit of the copy.
  std::optional<std::size_t> flip_bit;
  if (p.corrupt > 0 && !frame.empty() && s.rng.chance(p.corrupt)) {
    flip_bit = static_cast<std::size_t>(s.rng.below(std::uint64_t{frame.size()} * 8));
    s.counters.corrupted++;
  }
  // 8. Duplication: an exact copy (of the possibly corrupted frame) right after it.
  const bool duplicate = p.duplicate > 0 && s.rng.chance(p.duplicate);
  schedule_delivery(dir, arrival, frame, flip_bit);
  if (duplicate) {
    s.counters.duplicated++;
    schedule_delivery(dir, arrival, frame, flip_bit);
  }
}

std::uint32_t Link::take_slot() {
  if (!free_flights_.empty()) {
    const std::uint32_t slot = free_flights_.back();
    free_flights_.pop_back();
    return slot;
  }
  flights_.emplace_back();
  return static_cast<std::uint32_t>(flights_.size() - 1);
}

void Link::schedule_delivery(Direction dir, Instant at, Bytes frame, std::optional<std::size_t> flip_bit) {
  const std::uint32_t slot = take_slot();
  Flight& f = flights_[slot];
  if (!spare_buffers_.empty()) {
    f.bytes = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
  }
  f.bytes.assign(frame.begin(), frame.end());
  if (flip_bit) f.bytes[*flip_bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (*flip_bit % 8));
  f.dir = dir;
  f.in_use = true;
  f.event = world_.schedule_at(at, [this, slot] { deliver(slot); });
  ++in_flight_;
}

void Link::deliver(std::uint32_t slot) {
  // Move the frame out and free the slot first: callbacks may send (and so reuse
  // slots or grow the flight table).
  std::vector<std::uint8_t> bytes = std::move(flights_[slot].bytes);
  const Direction dir = flights_[slot].dir;
  flights_[slot].in_use = false;
  flights_[slot].bytes = {};
  free_flights_.push_back(slot);
  --in_flight_;

  Side& s = side(dir);
  const Instant now = world_.now();
  if (partitioned_) {
    s.counters.dropped_partition++;
  } else {
    s.counters.delivered++;
    s.counters.bytes_delivered += bytes.size();
    const Bytes frame(bytes.data(), bytes.size());
    world_.digest().record(now, dir, frame);
    notify(false, now, dir, frame);
    if (s.receiver) s.receiver(now, frame);
  }
  bytes.clear();
  if (spare_buffers_.size() < 256) spare_buffers_.push_back(std::move(bytes));
}

}  // namespace tapwire::sim
