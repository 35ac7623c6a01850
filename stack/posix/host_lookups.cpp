#include "stack/posix/host_lookups.h"

namespace tapwire::posix {
namespace {

host::Handle table_id(host::Handle h) { return host::Handle{h.index & ~HostLookups::kIndexBit, h.generation}; }
host::Handle public_id(host::Handle id) { return host::Handle{id.index | HostLookups::kIndexBit, id.generation}; }

}  // namespace

HostLookups::HostLookups(EventLoop& loop, ResolverPoolOptions options, ResolvedFn on_resolved)
    : loop_(loop), options_(std::move(options)), on_resolved_(std::move(on_resolved)) {}

HostLookups::~HostLookups() {
  loop_.remove(reg_);
  pool_.reset();  // joins the workers
}

Status HostLookups::ensure_pool() {
  if (pool_) return {};
  TW_TRY(auto pool, ResolverPool::start(options_));
  auto reg = loop_.add(pool->notify_fd(), Interest{true, false}, this, 0);
  if (!reg) return reg.error();
  reg_ = *reg;
  pool_ = std::move(pool);
  return {};
}

const HostLookups::Lookup* HostLookups::find(host::Handle h) const {
  return is_lookup(h) ? table_.find(table_id(h)) : nullptr;
}

Result<host::Handle> HostLookups::start(const wire::DnsName& name, std::uint16_t qtype) {
  if (auto st = ensure_pool(); !st) return st.error();
  const host::Handle id = table_.next_id();
  if ((id.index & kIndexBit) != 0) return make_error(Errc::limit, "host lookups: table full");
  if (auto st = pool_->submit(slot_key(id), name, qtype); !st) {
    if (st.error().code == Errc::limit) ++counters_.limit_hits;
    return st.error();
  }
  table_.emplace();
  ++counters_.started;
  return public_id(id);
}

Result<host::ResolverAnswer> HostLookups::result(host::Handle h) const {
  const Lookup* l = find(h);
  if (l == nullptr) return make_error(Errc::not_found, "host lookups: stale handle");
  if (!l->answer) return make_error(Errc::would_block, "host lookups: still running");
  return *l->answer;
}

void HostLookups::cancel(host::Handle h) {
  if (find(h) == nullptr) return;
  if (pool_) (void)pool_->cancel(slot_key(table_id(h)));
  table_.release(table_id(h));
}

void HostLookups::cancel_all() {
  table_.for_each_live([&](host::Handle id, Lookup&) { cancel(public_id(id)); });
}

ResolverPoolCounters HostLookups::pool_counters() const { return pool_ ? pool_->counters() : ResolverPoolCounters{}; }

void HostLookups::on_io(Instant, std::uint64_t, std::uint32_t) {
  if (!pool_) return;
  completions_.clear();
  pool_->take_completed(completions_);
  for (ResolverCompletion& c : completions_) {
    const host::Handle id = slot_id_from_key<host::Handle>(c.tag);
    Lookup* l = table_.find(id);
    if (l == nullptr || l->answer) {
      ++counters_.discarded;
      continue;
    }
    l->answer = std::move(c.answer);
    ++counters_.answered;
    if (on_resolved_) on_resolved_(public_id(id));
  }
  completions_.clear();
}

}  // namespace tapwire::posix
