// Closing host sockets the same way in every handler (see flow_context.h).
#include "stack/proxy/flow_context.h"

#include <string>

namespace tapwire::proxy {

void report_close_error(const Logger& log, const Status& closed, std::string_view what) {
  if (closed) return;
  TW_LOG(log, warn, "%.*s: closing the host socket failed (%s); its slot is released anyway",
         static_cast<int>(what.size()), what.data(), closed.error().reason);
}

void close_flow_handle(FlowContext& ctx, const Logger& log, Flow& flow, bool reset) {
  const Status closed = ctx.flows.close_handle(flow, ctx.host, reset);
  if (!closed) report_close_error(log, closed, FlowTable::describe(flow));
}

bool over_connection_limit(FlowContext& ctx, const Logger& log, Instant now, Drop why, const char* refused) {
  bool warn = false;
  if (!ctx.limit.over_limit(now, ctx.flows.open_handles(), &warn)) return false;
  ctx.stats.drop(why);
  if (warn) {
    TW_LOG(log, warn, "exceeded maximum number of connections (%llu host sockets): new %s are refused",
           static_cast<unsigned long long>(ctx.limit.limit()), refused);
  }
  return true;
}

}  // namespace tapwire::proxy
