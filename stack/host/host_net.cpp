#include "stack/host/host_net.h"

namespace tapwire::host {

std::string_view to_string(HostEventKind kind) {
  switch (kind) {
    case HostEventKind::connected: return "connected";
    case HostEventKind::refused: return "refused";
    case HostEventKind::accept_ready: return "accept_ready";
    case HostEventKind::readable: return "readable";
    case HostEventKind::writable: return "writable";
    case HostEventKind::hangup: return "hangup";
    case HostEventKind::resolved: return "resolved";
  }
  return "?";
}

}  // namespace tapwire::host
