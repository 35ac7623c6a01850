// FileStamp: what identifies one version of a file (device, inode, size, mtime), for
// noticing that a configuration file such as /etc/resolv.conf was replaced or edited
// without reading it. A missing file has the all-zero stamp.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace tapwire::posix {

struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

inline FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return FileStamp{st.st_dev, st.st_ino, st.st_size,
                   std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace tapwire::posix
