// dns_bench: the DNS latency client of the VM proxy benchmark (bench/PEERS.md).
// Not part of the CMake build: bench/peers/run.py compiles it with `cc -O2` into a
// temporary directory, like conn_bench. Plain C and POSIX.
//
//   dns_bench SERVER NAME [--port 53] [--count 2000] [--warmup 20] [--seconds 30]
//             [--timeout-ms 1000]
//
// Sends `count` UDP queries (A, IN, RD=1; RFC 1035 §4.1) for NAME to SERVER:PORT one
// after the other from one connected socket: each waits for its answer (same id, QR=1)
// before the next goes out. A query unanswered within the timeout counts as lost and is
// not retried (its late answer, if any, is recognised by its id and ignored). The first
// `warmup` queries are not measured (ARP, the proxy's first flow, the upstream's cache).
// Stops after `count` answers or `seconds`, whichever comes first. Prints one JSON object:
// answers, lost, latency p50/p99/min/mean in microseconds (CLOCK_MONOTONIC, send to
// receive), the rcode of the last answer.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static const char* opt(int argc, char** argv, const char* name, const char* dflt) {
  for (int i = 0; i + 1 < argc; ++i)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

// The query message for NAME: header (id, RD), one question (QTYPE A, QCLASS IN).
static int build_query(uint8_t* out, size_t cap, const char* name) {
  size_t n = 12;
  memset(out, 0, 12);
  out[2] = 0x01;  // RD
  out[5] = 1;     // QDCOUNT
  const char* p = name;
  while (*p) {
    const char* dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    if (len == 0 || len > 63 || n + 1 + len + 5 > cap) return -1;
    out[n++] = (uint8_t)len;
    memcpy(out + n, p, len);
    n += len;
    p += len;
    if (*p == '.') ++p;
  }
  out[n++] = 0;
  out[n++] = 0; out[n++] = 1;  // A
  out[n++] = 0; out[n++] = 1;  // IN
  return (int)n;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dns_bench SERVER NAME [--port 53] [--count N] [--warmup N] [--seconds S] "
                    "[--timeout-ms MS]\n");
    return 2;
  }
  const char* server = argv[1];
  const char* name = argv[2];
  int port = atoi(opt(argc, argv, "--port", "53"));
  long count = atol(opt(argc, argv, "--count", "2000"));
  long warmup = atol(opt(argc, argv, "--warmup", "20"));
  double seconds = atof(opt(argc, argv, "--seconds", "30"));
  int timeout_ms = atoi(opt(argc, argv, "--timeout-ms", "1000"));
  if (count < 1 || count > 10000000 || warmup < 0 || seconds <= 0 || timeout_ms < 1) return 2;

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, server, &sa.sin_addr) != 1) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
    printf("{\"error\": \"socket/connect: %s\"}\n", strerror(errno));
    return 1;
  }
  uint8_t query[300], reply[4096];
  int qlen = build_query(query, sizeof query, name);
  if (qlen < 0) return 2;

  double* lat = calloc((size_t)count, sizeof(double));
  if (!lat) return 1;
  long answers = 0, lost = 0, sent = 0, mismatched = 0;
  int last_rcode = -1;
  const char* error = NULL;
  double deadline = now_us() + seconds * 1e6;
  uint16_t id = (uint16_t)(getpid() * 7919u);
  while (answers < count && now_us() < deadline) {
    ++id;
    query[0] = (uint8_t)(id >> 8);
    query[1] = (uint8_t)id;
    double t0 = now_us();
    if (send(fd, query, (size_t)qlen, 0) != qlen) {
      error = strerror(errno);
      break;
    }
    ++sent;
    int got = 0;
    for (;;) {  // until our answer or the timeout; stale answers are skipped
      int left = timeout_ms - (int)((now_us() - t0) / 1000);
      if (left <= 0) break;
      struct pollfd pfd = {fd, POLLIN, 0};
      int pr = poll(&pfd, 1, left);
      if (pr <= 0) break;
      ssize_t n = recv(fd, reply, sizeof reply, 0);
      if (n < 0) {
        if (errno == ECONNREFUSED) error = "connection refused (ICMP port unreachable)";
        break;
      }
      if (n >= 12 && reply[0] == query[0] && reply[1] == query[1] && (reply[2] & 0x80)) {
        got = 1;
        last_rcode = reply[3] & 0x0f;
        break;
      }
      ++mismatched;
    }
    double dt = now_us() - t0;
    if (error) break;
    if (!got) {
      ++lost;
      if (lost > 100) break;
      continue;
    }
    if (warmup > 0) {
      --warmup;
      continue;
    }
    lat[answers++] = dt;
  }
  qsort(lat, (size_t)answers, sizeof(double), cmp_double);
  double sum = 0;
  for (long i = 0; i < answers; ++i) sum += lat[i];
  printf("{\"requested\": %ld, \"answers\": %ld, \"sent\": %ld, \"lost\": %ld, \"mismatched\": %ld, \"rcode\": %d",
         count, answers, sent, lost, mismatched, last_rcode);
  if (answers > 0)
    printf(", \"p50_us\": %.1f, \"p99_us\": %.1f, \"min_us\": %.1f, \"mean_us\": %.1f", lat[answers / 2],
           lat[(long)((double)(answers - 1) * 0.99)], lat[0], sum / (double)answers);
  if (error) printf(", \"error\": \"%s\"", error);
  printf("}\n");
  free(lat);
  close(fd);
  return answers == count ? 0 : 1;
}
