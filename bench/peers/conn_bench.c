// conn_bench: the connection server and clients of the VM proxy benchmark (bench/PEERS.md).
// Not part of the CMake build: bench/peers/run.py compiles it with `cc -O2` into a
// temporary directory. Plain C and POSIX so it runs unchanged inside any namespace.
//
//   conn_bench server --bind ADDR --close-port P --hold-port Q [--max-seconds S]
//       close port: accept, write one byte, close (the sequential-connect row).
//       hold port:  accept, write one byte, keep the connection until the client closes
//                   it (the flood row: every connection is open at the same time).
//   conn_bench seq ADDR PORT [--count N] [--seconds S]
//       sequential connects: connect, read 1 byte, read EOF, close; until N connections
//       or S seconds, whichever comes first. Stops at the first failure.
//   conn_bench flood ADDR PORT [--count N] [--seconds S]
//       opens N non-blocking connections at once; a connection succeeds when its byte
//       arrives. After all succeeded (or S seconds) every socket is closed.
//
// Clients print one JSON object on stdout. Every loop is bounded in count and time.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int parse_addr(const char* ip, int port, struct sockaddr_in* out) {
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -1;
}

static const char* opt(int argc, char** argv, const char* name, const char* dflt) {
  for (int i = 0; i + 1 < argc; ++i)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

static int listen_on(const struct sockaddr_in* a) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (const struct sockaddr*)a, sizeof *a) < 0 || listen(fd, 4096) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Server ----------------------------------------------------------------------------

static int run_server(int argc, char** argv) {
  const char* ip = opt(argc, argv, "--bind", "127.0.0.1");
  int close_port = atoi(opt(argc, argv, "--close-port", "5300"));
  int hold_port = atoi(opt(argc, argv, "--hold-port", "5301"));
  double max_seconds = atof(opt(argc, argv, "--max-seconds", "3600"));
  struct sockaddr_in ca, ha;
  if (parse_addr(ip, close_port, &ca) || parse_addr(ip, hold_port, &ha)) {
    fprintf(stderr, "conn_bench server: bad address %s\n", ip);
    return 2;
  }
  raise_nofile();
  int lc = listen_on(&ca), lh = listen_on(&ha);
  if (lc < 0 || lh < 0) {
    fprintf(stderr, "conn_bench server: listen on %s: %s\n", ip, strerror(errno));
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.fd = lc;
  epoll_ctl(ep, EPOLL_CTL_ADD, lc, &ev);
  ev.data.fd = lh;
  epoll_ctl(ep, EPOLL_CTL_ADD, lh, &ev);
  fprintf(stderr, "conn_bench server: ready on %s:%d (close) and %s:%d (hold)\n", ip, close_port, ip,
          hold_port);
  const double deadline = now_s() + max_seconds;
  const char byte = 'x';
  struct epoll_event evs[256];
  while (now_s() < deadline) {
    int n = epoll_wait(ep, evs, 256, 1000);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == lc || fd == lh) {
        for (int k = 0; k < 1024; ++k) {  // bounded accept batch
          int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (write(c, &byte, 1) != 1 || fd == lc) {
            close(c);
            continue;
          }
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP};
          cev.data.fd = c;
          if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) close(c);
        }
      } else {
        char buf[256];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) close(fd);  // also leaves epoll
      }
    }
  }
  return 0;
}

// Sequential connects ---------------------------------------------------------------

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static int run_seq(int argc, char** argv) {
  if (argc < 4) return 2;
  struct sockaddr_in a;
  if (parse_addr(argv[2], atoi(argv[3]), &a)) return 2;
  long count = atol(opt(argc, argv, "--count", "20000"));
  double seconds = atof(opt(argc, argv, "--seconds", "5"));
  double* lat = calloc((size_t)count, sizeof(double));
  if (!lat) return 1;
  struct timeval tv = {.tv_sec = 2, .tv_usec = 0};  // connect and read timeouts
  const double start = now_s(), deadline = start + seconds;
  long ok = 0;
  const char* failure = NULL;
  int failure_errno = 0;
  while (ok < count && now_s() < deadline) {
    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { failure = "socket"; failure_errno = errno; break; }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4];
    if (connect(fd, (struct sockaddr*)&a, sizeof a) < 0) {
      failure = "connect"; failure_errno = errno; close(fd); break;
    }
    ssize_t r = read(fd, buf, 1);
    if (r != 1) { failure = "read byte"; failure_errno = r < 0 ? errno : 0; close(fd); break; }
    r = read(fd, buf, sizeof buf);
    if (r != 0) { failure = "read eof"; failure_errno = r < 0 ? errno : 0; close(fd); break; }
    close(fd);
    lat[ok++] = now_s() - t0;
  }
  double elapsed = now_s() - start;
  qsort(lat, (size_t)ok, sizeof(double), cmp_double);
  double p50 = ok ? lat[ok / 2] : 0, p99 = ok ? lat[(ok * 99) / 100] : 0;
  printf("{\"ok\": %ld, \"seconds\": %.6f, \"per_second\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
         "\"failure\": %s%s%s, \"errno\": \"%s\"}\n",
         ok, elapsed, ok / elapsed, p50 * 1e6, p99 * 1e6, failure ? "\"" : "", failure ? failure : "null",
         failure ? "\"" : "", failure_errno ? strerror(failure_errno) : "");
  free(lat);
  return failure ? 1 : 0;
}

// Flood -----------------------------------------------------------------------------

static int run_flood(int argc, char** argv) {
  if (argc < 4) return 2;
  struct sockaddr_in a;
  if (parse_addr(argv[2], atoi(argv[3]), &a)) return 2;
  int count = atoi(opt(argc, argv, "--count", "1000"));
  double seconds = atof(opt(argc, argv, "--seconds", "30"));
  raise_nofile();
  int* fds = calloc((size_t)count, sizeof(int));
  char* state = calloc((size_t)count, 1);  // 0 connecting, 1 connected, 2 got byte, 3 failed
  if (!fds || !state) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  const double start = now_s(), deadline = start + seconds;
  int opened = 0, failed = 0, succeeded = 0, first_errno = 0;
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { fds[i] = -1; state[i] = 3; ++failed; if (!first_errno) first_errno = errno; continue; }
    fds[i] = fd;
    ++opened;
    if (connect(fd, (struct sockaddr*)&a, sizeof a) < 0 && errno != EINPROGRESS) {
      state[i] = 3; ++failed; if (!first_errno) first_errno = errno; continue;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP};
    ev.data.u32 = (uint32_t)i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  struct epoll_event evs[512];
  int connected = 0;
  while (succeeded + failed < count && now_s() < deadline) {
    int n = epoll_wait(ep, evs, 512, 100);
    for (int k = 0; k < n; ++k) {
      int i = (int)evs[k].data.u32;
      if (state[i] >= 2) continue;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) { state[i] = 3; ++failed; if (!first_errno) first_errno = err; epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL); continue; }
      if (state[i] == 0 && (evs[k].events & (EPOLLOUT | EPOLLIN))) {
        state[i] = 1;
        ++connected;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
      }
      if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        char b;
        ssize_t r = read(fds[i], &b, 1);
        if (r == 1) { state[i] = 2; ++succeeded; epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL); }
        else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          state[i] = 3; ++failed; if (!first_errno) first_errno = r == 0 ? ECONNRESET : errno;
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        }
      }
    }
  }
  double all_in = now_s() - start;
  // All successful connections are open at this point; close them all.
  for (int i = 0; i < count; ++i)
    if (fds[i] >= 0) close(fds[i]);
  printf("{\"requested\": %d, \"opened\": %d, \"connected\": %d, \"succeeded\": %d, \"failed\": %d, "
         "\"pending\": %d, \"seconds\": %.6f, \"first_error\": \"%s\"}\n",
         count, opened, connected, succeeded, failed, count - succeeded - failed, all_in,
         first_errno ? strerror(first_errno) : "");
  free(fds);
  free(state);
  return succeeded == count ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "server") == 0) return run_server(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "seq") == 0) return run_seq(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "flood") == 0) return run_flood(argc, argv);
  fprintf(stderr,
          "usage: conn_bench server --bind ADDR --close-port P --hold-port Q [--max-seconds S]\n"
          "       conn_bench seq ADDR PORT [--count N] [--seconds S]\n"
          "       conn_bench flood ADDR PORT [--count N] [--seconds S]\n");
  return 2;
}
