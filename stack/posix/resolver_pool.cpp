#include "stack/posix/resolver_pool.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "stack/posix/errno_map.h"
#include "stack/posix/file_stamp.h"

// <arpa/nameser_compat.h> defines the rcodes as macros; ours are wire::dns_rcode's.
#undef NOERROR
#undef FORMERR
#undef SERVFAIL
#undef NXDOMAIN
#undef NOTIMP
#undef REFUSED

namespace tapwire::posix {
namespace {

constexpr std::size_t kReplyBuffer = 65536;  // res_nquery falls back to TCP on TC

// One worker's resolver state: res_ninit'ed, re-initialised when the file changes.
class ResolverState {
 public:
  explicit ResolverState(const ResolverPoolOptions& options) : options_(options) { init(); }
  ~ResolverState() {
    if (ready_) ::res_nclose(&res_);
  }
  ResolverState(const ResolverState&) = delete;
  ResolverState& operator=(const ResolverState&) = delete;

  // True when the file changed since the last res_ninit (and it was re-run).
  bool refresh() {
    if (stamp_of(options_.resolv_conf) == stamp_) return false;
    if (ready_) ::res_nclose(&res_);
    init();
    return true;
  }

  host::ResolverAnswer query(const std::string& name, std::uint16_t qtype, std::vector<std::uint8_t>& buffer) {
    if (!ready_) return host::ResolverAnswer{wire::dns_rcode::SERVFAIL, {}};
    // A zero header: a buffer no server wrote to never looks like a reply.
    std::memset(buffer.data(), 0, HFIXEDSZ);
    const int n = ::res_nquery(&res_, name.c_str(), ns_c_in, qtype, buffer.data(), static_cast<int>(buffer.size()));
    return answer_from_reply(n, Bytes(buffer.data(), buffer.size()), res_.res_h_errno);
  }

 private:
  void init() {
    stamp_ = stamp_of(options_.resolv_conf);
    std::memset(&res_, 0, sizeof res_);
    ready_ = ::res_ninit(&res_) == 0;
    if (!ready_ || options_.servers.empty()) return;
    const std::size_t n = std::min<std::size_t>(options_.servers.size(), MAXNS);
    for (std::size_t i = 0; i < n; ++i) res_.nsaddr_list[i] = options_.servers[i];
    res_.nscount = static_cast<int>(n);
  }

  const ResolverPoolOptions& options_;
  struct __res_state res_ {};
  FileStamp stamp_;
  bool ready_ = false;
};

}  // namespace

host::ResolverAnswer answer_from_reply(int length, Bytes reply, int herrno) {
  host::ResolverAnswer out;
  bool answered = false;  // a server's reply is in the buffer
  if (length >= 0) {
    answered = true;
    reply = reply.first(std::min(reply.size(), static_cast<std::size_t>(length)));
    out.rcode = wire::dns_rcode::NOERROR;
  } else if (herrno == HOST_NOT_FOUND) {
    answered = true;
    out.rcode = wire::dns_rcode::NXDOMAIN;
  } else if (herrno == NO_DATA) {
    answered = true;
    out.rcode = wire::dns_rcode::NOERROR;
  } else {
    out.rcode = wire::dns_rcode::SERVFAIL;  // TRY_AGAIN (timeout, SERVFAIL), NO_RECOVERY, ...
  }
  if (!answered) return out;
  auto message = wire::DnsMessage::parse(reply);
  if (!message.ok() || !message->header.qr) {
    // res_nquery said it got an answer but the bytes are not one: nothing to trust.
    if (length >= 0) out.rcode = wire::dns_rcode::SERVFAIL;
    return out;
  }
  if (length >= 0 && message->header.rcode != wire::dns_rcode::NOERROR) out.rcode = message->header.rcode;
  out.records = std::move(message->answers);
  return out;
}

Result<std::unique_ptr<ResolverPool>> ResolverPool::start(Options options) {
  std::unique_ptr<ResolverPool> pool(new ResolverPool(std::move(options)));
  pool->notify_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!pool->notify_) return errno_error(errno);
  const std::size_t threads = std::max<std::size_t>(pool->options_.threads, 1);
  try {
    for (std::size_t i = 0; i < threads; ++i) pool->workers_.emplace_back([p = pool.get()] { p->worker(); });
  } catch (const std::system_error&) {
    return make_error(Errc::limit, "resolver pool: cannot start a worker thread");  // the destructor joins
  }
  return pool;
}

ResolverPool::~ResolverPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

Status ResolverPool::submit(std::uint64_t tag, const wire::DnsName& name, std::uint16_t qtype) {
  {
    std::lock_guard lock(mu_);
    if (pending_ >= options_.max_pending) {
      ++counters_.limit_hits;
      return make_error(Errc::limit, "resolver pool: too many lookups pending");
    }
    queue_.push_back(Job{tag, name.to_text(), qtype});
    ++pending_;
    ++counters_.submitted;
  }
  wake_.notify_one();
  return {};
}

bool ResolverPool::cancel(std::uint64_t tag) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(queue_.begin(), queue_.end(), [tag](const Job& j) { return j.tag == tag; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  --pending_;
  ++counters_.cancelled;
  return true;
}

void ResolverPool::take_completed(std::vector<ResolverCompletion>& out) {
  std::uint64_t count;
  while (::read(notify_.get(), &count, sizeof count) > 0) {
  }
  std::lock_guard lock(mu_);
  for (ResolverCompletion& c : done_) out.push_back(std::move(c));
  done_.clear();
}

std::size_t ResolverPool::pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

ResolverPoolCounters ResolverPool::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void ResolverPool::worker() {
  ResolverState state(options_);
  std::vector<std::uint8_t> buffer(kReplyBuffer);
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const bool reinit = state.refresh();
    host::ResolverAnswer answer = state.query(job.name, job.qtype, buffer);
    {
      std::lock_guard lock(mu_);
      if (reinit) ++counters_.reinits;
      done_.push_back(ResolverCompletion{job.tag, std::move(answer)});
      --pending_;
      ++counters_.completed;
    }
    const std::uint64_t one = 1;
    (void)!::write(notify_.get(), &one, sizeof one);
  }
}

}  // namespace tapwire::posix
