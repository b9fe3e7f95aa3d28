/*
 * multi_get: the "libcurl in C" limit line of the benchmark (limits.py runs it).
 *
 *     multi_get URL CONCURRENCY SECONDS WARMUP EXPECT_LEN
 *
 * CONCURRENCY GETs of URL are kept in flight on one libcurl multi handle, driven by
 * curl_multi_socket_action() over epoll on one thread (libcurl's event-driven
 * interface, as in its ephiperfifo.c example).  A finished transfer's easy handle is
 * added again at once, so it takes a kept-alive connection from the multi handle's
 * cache.  Nothing else happens per response: the body is counted and dropped.  This is
 * what a client built on libcurl's multi interface can reach at best, on the same CPU
 * as the clients.
 *
 * WARMUP seconds run untimed; then the transfers that finish in the next SECONDS are
 * counted.  Prints one JSON line: rps, requests, seconds, p50/p95/p99 latency in
 * microseconds (from adding the handle to its completion), CPU seconds (user + system)
 * per 1,000 requests, peak RSS, the libcurl version.  A response that is not 200 with
 * EXPECT_LEN body bytes, or a transfer error, ends the run with {"error": ...}, exit 1.
 *
 * Build: cc -O2 multi_get.c -lcurl
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_EVENTS 256

struct transfer {
    CURL *easy;
    double started;
    size_t bytes;
};

struct bench {
    CURLM *multi;
    int epoll_fd;
    double timer_at; /* when libcurl wants curl_multi_socket_action(TIMEOUT); < 0: never */
    long expect_len;
    int timing;      /* 1 once the warm-up is over */
    long requests;   /* completed in the timed part */
    double *latency; /* seconds, one per timed request */
    size_t latency_cap;
};

static int registered; /* its address marks a socket already in the epoll set */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void fail(const char *what, const char *detail)
{
    /* The message is ours or libcurl's: no quotes or backslashes to escape. */
    printf("{\"error\": \"multi_get: %s: %s\"}\n", what, detail);
    exit(1);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    (void)data;
    t->bytes += size * nmemb;
    return size * nmemb;
}

/* libcurl says which events it wants on a socket: mirror that in the epoll set. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct bench *b = userp;
    struct epoll_event ev = {0};
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(b->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* may already be closed */
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    ev.data.fd = fd;
    if (socketp == NULL) {
        if (epoll_ctl(b->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            fail("epoll_ctl ADD", strerror(errno));
        curl_multi_assign(b->multi, fd, &registered);
    } else if (epoll_ctl(b->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0) {
        fail("epoll_ctl MOD", strerror(errno));
    }
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct bench *b = userp;
    (void)multi;
    b->timer_at = timeout_ms < 0 ? -1.0 : now() + (double)timeout_ms / 1e3;
    return 0;
}

static void start(struct bench *b, struct transfer *t)
{
    CURLMcode rc;
    t->bytes = 0;
    t->started = now();
    rc = curl_multi_add_handle(b->multi, t->easy);
    if (rc != CURLM_OK)
        fail("curl_multi_add_handle", curl_multi_strerror(rc));
}

/* Every finished transfer: check it, count it, and start it again. */
static void reap(struct bench *b)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
        struct transfer *t;
        long status = 0;
        char detail[64];
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (msg->data.result != CURLE_OK)
            fail("transfer failed", curl_easy_strerror(msg->data.result));
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || (long)t->bytes != b->expect_len) {
            snprintf(detail, sizeof detail, "status %ld, %zu body bytes", status, t->bytes);
            fail("wrong response", detail);
        }
        if (b->timing) {
            if ((size_t)b->requests == b->latency_cap) {
                b->latency_cap = b->latency_cap ? 2 * b->latency_cap : 65536;
                b->latency = realloc(b->latency, b->latency_cap * sizeof *b->latency);
                if (b->latency == NULL)
                    fail("realloc", "out of memory");
            }
            b->latency[b->requests++] = now() - t->started;
        }
        curl_multi_remove_handle(b->multi, t->easy);
        start(b, t);
    }
}

static void act(struct bench *b, curl_socket_t fd, int flags)
{
    int running;
    CURLMcode rc = curl_multi_socket_action(b->multi, fd, flags, &running);
    if (rc != CURLM_OK)
        fail("curl_multi_socket_action", curl_multi_strerror(rc));
}

static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double percentile_us(const double *sorted, long n, double q)
{
    long i;
    if (n == 0)
        return 0.0;
    i = (long)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1] * 1e6;
}

/* VmHWM, not ru_maxrss: Linux carries ru_maxrss over execve from the parent. */
static double peak_rss_mb(void)
{
    char line[256];
    double mb = 0.0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0.0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            mb = strtod(line + 6, NULL) * 1024 / 1e6;
    fclose(f);
    return mb;
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    struct transfer *transfers;
    struct epoll_event events[MAX_EVENTS];
    double seconds, warmup, timed_from = 0.0, stop_at, cpu_from = 0.0, elapsed, cpu;
    long concurrency, i;

    if (argc != 6) {
        fprintf(stderr, "usage: %s URL CONCURRENCY SECONDS WARMUP EXPECT_LEN\n", argv[0]);
        return 2;
    }
    concurrency = strtol(argv[2], NULL, 10);
    seconds = strtod(argv[3], NULL);
    warmup = strtod(argv[4], NULL);
    b.expect_len = strtol(argv[5], NULL, 10);
    if (concurrency < 1 || seconds <= 0.0 || warmup < 0.0) {
        fprintf(stderr, "%s: bad CONCURRENCY, SECONDS or WARMUP\n", argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        fail("curl_global_init", "failed");
    b.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (b.epoll_fd < 0)
        fail("epoll_create1", strerror(errno));
    b.timer_at = -1.0;
    b.multi = curl_multi_init();
    curl_multi_setopt(b.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(b.multi, CURLMOPT_SOCKETDATA, &b);
    curl_multi_setopt(b.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(b.multi, CURLMOPT_TIMERDATA, &b);
    curl_multi_setopt(b.multi, CURLMOPT_MAX_HOST_CONNECTIONS, concurrency);
    curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, concurrency);

    transfers = calloc((size_t)concurrency, sizeof *transfers);
    if (transfers == NULL)
        fail("calloc", "out of memory");
    for (i = 0; i < concurrency; i++) {
        struct transfer *t = &transfers[i];
        t->easy = curl_easy_init();
        if (t->easy == NULL)
            fail("curl_easy_init", "failed");
        curl_easy_setopt(t->easy, CURLOPT_URL, argv[1]);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        start(&b, t);
    }

    stop_at = now() + warmup + seconds;
    for (;;) {
        double t = now(), deadline;
        int n, wait_ms;
        if (!b.timing && t >= stop_at - seconds) {
            b.timing = 1;
            timed_from = t;
            cpu_from = cpu_seconds();
        }
        if (t >= stop_at)
            break;
        if (b.timer_at >= 0.0 && t >= b.timer_at) {
            b.timer_at = -1.0;
            act(&b, CURL_SOCKET_TIMEOUT, 0);
            reap(&b);
            continue;
        }
        /* Sleep until libcurl's timer, the end of the warm-up or the end, if no event. */
        deadline = b.timing ? stop_at : stop_at - seconds;
        if (b.timer_at >= 0.0 && b.timer_at < deadline)
            deadline = b.timer_at;
        wait_ms = (int)((deadline - t) * 1e3) + 1;
        n = epoll_wait(b.epoll_fd, events, MAX_EVENTS, wait_ms);
        if (n < 0 && errno != EINTR)
            fail("epoll_wait", strerror(errno));
        for (i = 0; i < n; i++) {
            int flags = 0;
            if (events[i].events & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
            if (events[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (events[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            act(&b, events[i].data.fd, flags);
        }
        reap(&b);
    }
    elapsed = now() - timed_from;
    cpu = cpu_seconds() - cpu_from;

    qsort(b.latency, (size_t)b.requests, sizeof *b.latency, by_value);
    printf("{\"requests\": %ld, \"seconds\": %.6f, \"rps\": %.1f, \"p50_us\": %.1f, "
           "\"p95_us\": %.1f, \"p99_us\": %.1f, \"cpu_s_per_1k\": %.6f, "
           "\"peak_rss_mb\": %.3f, \"setup\": \"%ld transfers on one multi handle, "
           "curl_multi_socket_action over epoll, libcurl %s\"}\n",
           b.requests, elapsed, (double)b.requests / elapsed,
           percentile_us(b.latency, b.requests, 0.50), percentile_us(b.latency, b.requests, 0.95),
           percentile_us(b.latency, b.requests, 0.99),
           b.requests ? cpu / (double)b.requests * 1e3 : 0.0, peak_rss_mb(), concurrency,
           curl_version_info(CURLVERSION_NOW)->version);
    for (i = 0; i < concurrency; i++) {
        curl_multi_remove_handle(b.multi, transfers[i].easy);
        curl_easy_cleanup(transfers[i].easy);
    }
    curl_multi_cleanup(b.multi);
    curl_global_cleanup();
    free(transfers);
    free(b.latency);
    return 0;
}
