/* stats.h: the aggregates a session keeps when created with stats=True.
 *
 * One rx_stats per Stats object, shared by the Client or async pool it is
 * given to. The engine records into it where a transfer ends (sync: the
 * caller's thread after the transfer, GIL held; async: the engine thread in
 * rx_engine_finish), from the libcurl timings it reads anyway; nothing of it
 * touches Python. Python reads it at scrape time (Stats.snapshot) and adds
 * the counters only the policy knows (retries, breaker transitions) with
 * Stats.count().
 *
 * What is kept:
 *   origins   "scheme://host:port", at most max_origins of them; the rest
 *             fold into one "_other" entry. Per origin: phase histograms
 *             (queue, dns, connect, tls, first byte; dns/connect/tls only
 *             for transfers that opened a connection), the connections open
 *             (counted by libcurl's open- and close-socket callbacks) and
 *             the transfers in flight.
 *   series    per (origin, method, status, CURLcode, phase): the request
 *             duration histogram. Python turns the code and phase into an
 *             error_type with the one table requestx.exceptions has.
 *   counters  per (kind, origin, label): retries by reason, libcurl's
 *             re-sends, breaker transitions by new state; RX_STAT_STATE is
 *             a gauge (the breaker's state), set rather than added.
 *
 * Every histogram has the 14 boundaries OpenTelemetry advises for
 * http.client.request.duration (prometheus_client's defaults too), plus the
 * overflow bucket; counts are per bucket, not cumulative.
 *
 * Locking: one mutex per rx_stats, never held across I/O or a libcurl call.
 * Lifetime: reference-counted (the Stats object, each pool using it, each
 * socket counted open), since a pooled connection may close after its pool.
 * fork(): a child's first use makes the mutex anew (the engine thread may
 * have held it at the fork) and forgets the parent's connections and
 * transfers in flight, which are not the child's (see process.h).
 */
#ifndef RX_STATS_H
#define RX_STATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "easy.h"

#define RX_STATS_BOUNDS 14
#define RX_STATS_BUCKETS (RX_STATS_BOUNDS + 1)
#define RX_STATS_DEFAULT_MAX_ORIGINS 1000
#define RX_STATS_ORIGIN_BYTES 256
#define RX_STATS_METHOD_BYTES 16
#define RX_STATS_LABEL_BYTES 48

static const double rx_stats_bounds[RX_STATS_BOUNDS] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
};

enum rx_stats_phase {
    RX_STATS_QUEUE = 0,
    RX_STATS_DNS,
    RX_STATS_CONNECT,
    RX_STATS_TLS,
    RX_STATS_FIRST_BYTE,
    RX_STATS_PHASES,
};

/* Counter kinds (Stats.count and the engine's own re-send count). */
enum rx_stats_kind {
    RX_STAT_RETRY = 0,      /* label: the reason (an error_type or status_<code>) */
    RX_STAT_RESEND = 1,     /* label: "stale_connection" */
    RX_STAT_TRANSITION = 2, /* label: the state the breaker moved to */
    RX_STAT_STATE = 3,      /* a gauge: the breaker's state (0 closed, 1 open, 2 half-open) */
};

typedef struct {
    uint64_t count;
    double sum;
    uint64_t buckets[RX_STATS_BUCKETS];
} rx_histogram;

typedef struct {
    char *name;
    uint32_t hash;
    int64_t open;   /* connections open */
    int64_t active; /* transfers in flight */
    rx_histogram phases[RX_STATS_PHASES];
} rx_stats_origin;

typedef struct {
    int origin;
    int status;
    int code;
    int phase;
    uint32_t hash;
    char method[RX_STATS_METHOD_BYTES];
    rx_histogram duration;
} rx_stats_series;

typedef struct {
    int kind;
    int origin;
    int64_t value;
    char label[RX_STATS_LABEL_BYTES];
} rx_stats_counter;

typedef struct rx_stats {
    pthread_mutex_t lock;
    pid_t pid; /* the process the lock and the gauges belong to */
    int refs;
    int max_origins;
    int other; /* the "_other" origin's index, or -1 */
    rx_stats_origin *origins;
    int norigins, origins_cap;
    int *origin_index; /* open addressing: origin index + 1, 0 empty */
    int origin_index_cap;
    rx_stats_series *series;
    int nseries, series_cap;
    int *series_index;
    int series_index_cap;
    rx_stats_counter *counters;
    int ncounters, counters_cap;
    int *sock_origin; /* by fd: the origin index + 1 of an open socket */
    int sock_cap;
} rx_stats;

static rx_stats *rx_stats_new(int max_origins)
{
    rx_stats *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return NULL;
    }
    st->refs = 1;
    st->max_origins = max_origins;
    st->other = -1;
    st->pid = rx_getpid();
    return st;
}

/* Take the lock; in a child after fork(), first make it anew and zero the
 * gauges of the parent's connections and transfers. */
static void rx_stats_lock(rx_stats *st)
{
    pid_t pid = rx_getpid();
    if (st->pid != pid) {
        pthread_mutex_init(&st->lock, NULL);
        st->pid = pid;
        for (int i = 0; i < st->norigins; i++) {
            st->origins[i].open = 0;
            st->origins[i].active = 0;
        }
        if (st->sock_origin != NULL) {
            memset(st->sock_origin, 0, (size_t)st->sock_cap * sizeof(int));
        }
    }
    pthread_mutex_lock(&st->lock);
}

static void rx_stats_ref(rx_stats *st)
{
    rx_stats_lock(st);
    st->refs++;
    pthread_mutex_unlock(&st->lock);
}

static void rx_stats_unref(rx_stats *st)
{
    if (st == NULL) {
        return;
    }
    rx_stats_lock(st);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last) {
        return;
    }
    for (int i = 0; i < st->norigins; i++) {
        free(st->origins[i].name);
    }
    free(st->origins);
    free(st->origin_index);
    free(st->series);
    free(st->series_index);
    free(st->counters);
    free(st->sock_origin);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/*** keys ***/

static uint32_t rx_hash_bytes(uint32_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u; /* FNV-1a */
    }
    return h;
}

/* "scheme://host:port" of a URL into out (lower-case scheme and host, the
 * default port filled in, userinfo, path, query and fragment left out). */
static void rx_origin_of(const char *url, char *out, size_t cap)
{
    const char *sep = strstr(url, "://");
    const char *scheme_end = sep != NULL ? sep : url;
    const char *auth = sep != NULL ? sep + 3 : url;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len);
    while (at != NULL) { /* the last '@' ends the userinfo */
        size_t used = (size_t)(at - auth) + 1;
        auth_len -= used;
        auth += used;
        at = memchr(auth, '@', auth_len);
    }
    const char *host_end = auth + auth_len;
    const char *port = NULL;
    if (auth_len > 0 && auth[0] == '[') { /* an IPv6 literal */
        const char *close = memchr(auth, ']', auth_len);
        if (close != NULL && close + 1 < host_end && close[1] == ':') {
            port = close + 2;
            host_end = close + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon != NULL) {
            port = colon + 1;
            host_end = colon;
        }
    }
    size_t n = 0;
    for (const char *p = url; p < scheme_end && n + 1 < cap; p++) {
        out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    int https = n == 5 && memcmp(out, "https", 5) == 0;
    for (const char *p = "://"; *p && n + 1 < cap; p++) {
        out[n++] = *p;
    }
    for (const char *p = auth; p < host_end && n + 1 < cap; p++) {
        out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    if (port != NULL && port < auth + auth_len) {
        size_t port_len = (size_t)(auth + auth_len - port);
        if (n + 1 + port_len + 1 <= cap) {
            out[n++] = ':';
            memcpy(out + n, port, port_len);
            n += port_len;
        }
    } else {
        const char *dflt = https ? ":443" : ":80";
        size_t len = strlen(dflt);
        if (n + len + 1 <= cap) {
            memcpy(out + n, dflt, len);
            n += len;
        }
    }
    out[n] = '\0';
}

/* Grow an open-addressing index to at least twice `needed` slots and
 * re-insert every entry (hash read through `hash_of`). 0 or -1. */
static int rx_index_grow(int **index, int *cap, int needed, const void *entries, size_t entry_size,
                         size_t hash_offset)
{
    int want = *cap > 0 ? *cap : 64;
    while (want < needed * 2) {
        want *= 2;
    }
    if (want == *cap) {
        return 0;
    }
    int *grown = calloc((size_t)want, sizeof(int));
    if (grown == NULL) {
        return -1;
    }
    for (int i = 0; i < needed - 1; i++) {
        uint32_t h;
        memcpy(&h, (const char *)entries + (size_t)i * entry_size + hash_offset, sizeof(h));
        int at = (int)(h & (uint32_t)(want - 1));
        while (grown[at] != 0) {
            at = (at + 1) & (want - 1);
        }
        grown[at] = i + 1;
    }
    free(*index);
    *index = grown;
    *cap = want;
    return 0;
}

/* Lock held: the index of an origin entry, made when new; past the cap the
 * "_other" entry; -1 when memory ran out. */
static int rx_stats_origin_locked(rx_stats *st, const char *name)
{
    size_t len = strlen(name);
    uint32_t h = rx_hash_bytes(2166136261u, name, len);
    if (st->origin_index_cap > 0) {
        int at = (int)(h & (uint32_t)(st->origin_index_cap - 1));
        while (st->origin_index[at] != 0) {
            rx_stats_origin *o = &st->origins[st->origin_index[at] - 1];
            if (o->hash == h && strcmp(o->name, name) == 0) {
                return st->origin_index[at] - 1;
            }
            at = (at + 1) & (st->origin_index_cap - 1);
        }
    }
    int folded = st->norigins - (st->other >= 0) >= st->max_origins;
    if (folded) {
        if (st->other >= 0) {
            return st->other;
        }
        name = "_other";
        len = strlen(name);
        h = rx_hash_bytes(2166136261u, name, len);
    }
    if (st->norigins == st->origins_cap) {
        int cap = st->origins_cap ? st->origins_cap * 2 : 8;
        rx_stats_origin *grown = realloc(st->origins, (size_t)cap * sizeof(*grown));
        if (grown == NULL) {
            return -1;
        }
        st->origins = grown;
        st->origins_cap = cap;
    }
    if (rx_index_grow(&st->origin_index, &st->origin_index_cap, st->norigins + 1, st->origins,
                      sizeof(rx_stats_origin), offsetof(rx_stats_origin, hash)) < 0) {
        return -1;
    }
    rx_stats_origin *o = &st->origins[st->norigins];
    memset(o, 0, sizeof(*o));
    o->name = strdup(name);
    if (o->name == NULL) {
        return -1;
    }
    o->hash = h;
    int at = (int)(h & (uint32_t)(st->origin_index_cap - 1));
    while (st->origin_index[at] != 0) {
        at = (at + 1) & (st->origin_index_cap - 1);
    }
    st->origin_index[at] = st->norigins + 1;
    if (folded) {
        st->other = st->norigins;
    }
    return st->norigins++;
}

/* The usual methods keep their name; any other is counted as "_OTHER" (a
 * label with a bounded set of values, as OpenTelemetry asks). */
static const char *rx_stats_method(const char *method)
{
    static const char *const known[] = {"GET",     "HEAD",  "POST",    "PUT",  "DELETE",
                                        "OPTIONS", "PATCH", "CONNECT", "TRACE"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(method, known[i]) == 0) {
            return known[i];
        }
    }
    return "_OTHER";
}

/* Lock held: the series of these labels, made when new; NULL without memory. */
static rx_stats_series *rx_stats_series_locked(rx_stats *st, int origin, const char *method,
                                               int status, int code, int phase)
{
    uint32_t h = rx_hash_bytes(2166136261u, method, strlen(method));
    int ints[4] = {origin, status, code, phase};
    h = rx_hash_bytes(h, (const char *)ints, sizeof(ints));
    if (st->series_index_cap > 0) {
        int at = (int)(h & (uint32_t)(st->series_index_cap - 1));
        while (st->series_index[at] != 0) {
            rx_stats_series *s = &st->series[st->series_index[at] - 1];
            if (s->hash == h && s->origin == origin && s->status == status && s->code == code &&
                s->phase == phase && strcmp(s->method, method) == 0) {
                return s;
            }
            at = (at + 1) & (st->series_index_cap - 1);
        }
    }
    if (st->nseries == st->series_cap) {
        int cap = st->series_cap ? st->series_cap * 2 : 16;
        rx_stats_series *grown = realloc(st->series, (size_t)cap * sizeof(*grown));
        if (grown == NULL) {
            return NULL;
        }
        st->series = grown;
        st->series_cap = cap;
    }
    if (rx_index_grow(&st->series_index, &st->series_index_cap, st->nseries + 1, st->series,
                      sizeof(rx_stats_series), offsetof(rx_stats_series, hash)) < 0) {
        return NULL;
    }
    rx_stats_series *s = &st->series[st->nseries];
    memset(s, 0, sizeof(*s));
    s->origin = origin;
    s->status = status;
    s->code = code;
    s->phase = phase;
    s->hash = h;
    snprintf(s->method, sizeof(s->method), "%s", method);
    int at = (int)(h & (uint32_t)(st->series_index_cap - 1));
    while (st->series_index[at] != 0) {
        at = (at + 1) & (st->series_index_cap - 1);
    }
    st->series_index[at] = ++st->nseries;
    return s;
}

static void rx_histogram_add(rx_histogram *hist, double seconds)
{
    if (seconds < 0) {
        seconds = 0;
    }
    int b = 0;
    while (b < RX_STATS_BOUNDS && seconds > rx_stats_bounds[b]) {
        b++; /* a value equal to a boundary counts in that bucket (le) */
    }
    hist->buckets[b]++;
    hist->count++;
    hist->sum += seconds;
}

/* Lock held: add `delta` to a counter (kind RX_STAT_STATE: set it). 0 or -1. */
static int rx_stats_count_locked(rx_stats *st, int kind, int origin, const char *label,
                                 int64_t delta)
{
    rx_stats_counter *c = NULL;
    for (int i = 0; i < st->ncounters; i++) { /* few: per origin, a handful of reasons */
        rx_stats_counter *k = &st->counters[i];
        if (k->kind == kind && k->origin == origin && strcmp(k->label, label) == 0) {
            c = k;
            break;
        }
    }
    if (c == NULL) {
        if (st->ncounters == st->counters_cap) {
            int cap = st->counters_cap ? st->counters_cap * 2 : 8;
            rx_stats_counter *grown = realloc(st->counters, (size_t)cap * sizeof(*grown));
            if (grown == NULL) {
                return -1;
            }
            st->counters = grown;
            st->counters_cap = cap;
        }
        c = &st->counters[st->ncounters++];
        memset(c, 0, sizeof(*c));
        c->kind = kind;
        c->origin = origin;
        snprintf(c->label, sizeof(c->label), "%s", label);
    }
    if (kind == RX_STAT_STATE) {
        c->value = delta;
    } else {
        c->value += delta;
    }
    return 0;
}

/*** what the drivers call ***/

/* A transfer to `url` starts: its origin's index (-1: not counted). */
static int rx_stats_begin(rx_stats *st, const char *url)
{
    char name[RX_STATS_ORIGIN_BYTES];
    rx_origin_of(url, name, sizeof(name));
    rx_stats_lock(st);
    int origin = rx_stats_origin_locked(st, name);
    if (origin >= 0) {
        st->origins[origin].active++;
    }
    pthread_mutex_unlock(&st->lock);
    return origin;
}

/* What the engine knows of a transfer when it ends (rx_stats_end). Times
 * are seconds since the transfer started, as libcurl counts them. */
typedef struct {
    const char *method;
    int origin; /* from rx_stats_begin */
    int status; /* 0: no response */
    int code;   /* CURLcode; CURLE_OK: a response */
    int phase;  /* where a failure happened */
    int resent; /* libcurl sent it again on a fresh connection */
    int connects;
    double queue, namelookup, connect, tls, pretransfer, first_byte, total;
} rx_stats_end_info;

/* The transfer begun with rx_stats_begin ended: record it (record == 0:
 * cancelled, only no longer in flight). Lost to a lack of memory, a sample
 * is dropped rather than failing the request. */
static void rx_stats_end(rx_stats *st, const rx_stats_end_info *e, int record)
{
    if (e->origin < 0) {
        return;
    }
    rx_stats_lock(st);
    rx_stats_origin *o = &st->origins[e->origin];
    o->active--;
    if (record) {
        int ok = e->code == 0;
        rx_stats_series *s = rx_stats_series_locked(st, e->origin, e->method, ok ? e->status : 0,
                                                    e->code, ok ? 0 : e->phase);
        o = &st->origins[e->origin];
        if (s != NULL) {
            rx_histogram_add(&s->duration, e->total);
        }
        rx_histogram_add(&o->phases[RX_STATS_QUEUE], e->queue);
        if (e->connects > 0) {
            rx_histogram_add(&o->phases[RX_STATS_DNS], e->namelookup);
            if (e->connect > 0) {
                rx_histogram_add(&o->phases[RX_STATS_CONNECT], e->connect - e->namelookup);
            }
            if (e->tls > 0) {
                rx_histogram_add(&o->phases[RX_STATS_TLS], e->tls - e->connect);
            }
        }
        if (ok || e->first_byte > 0) {
            double sent = e->pretransfer > 0 ? e->pretransfer : 0;
            rx_histogram_add(&o->phases[RX_STATS_FIRST_BYTE],
                             e->first_byte > sent ? e->first_byte - sent : 0);
        }
        if (e->resent) {
            (void)rx_stats_count_locked(st, RX_STAT_RESEND, e->origin, "stale_connection", 1);
        }
    }
    pthread_mutex_unlock(&st->lock);
}

/* Stats.count(): a counter of the policy's (or a gauge). 0 or -1. */
static int rx_stats_count(rx_stats *st, int kind, const char *origin_url, const char *label,
                          int64_t delta)
{
    char name[RX_STATS_ORIGIN_BYTES];
    rx_origin_of(origin_url, name, sizeof(name));
    rx_stats_lock(st);
    int origin = rx_stats_origin_locked(st, name);
    int rc = origin < 0 ? -1 : rx_stats_count_locked(st, kind, origin, label, delta);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/*** a slot's part ***/

/* A slot's transfer of `method` to `url` starts (a slot of a pool that
 * keeps statistics). */
static void rx_slot_stats_begin(rx_slot *slot, const char *method, const char *url)
{
    slot->stats_method = rx_stats_method(method); /* a static string */
    slot->stats_origin = rx_stats_begin(slot->stats, url);
}

/* The end of a slot's transfer (once per rx_slot_stats_begin; record == 0:
 * it was cancelled), from its libcurl timings (rx_slot_timings). */
static void rx_slot_stats_end(rx_slot *slot, CURLcode rc, int phase, int record)
{
    if (slot->stats == NULL || slot->stats_origin < 0) {
        return;
    }
    double t[RX_TIMINGS];
    if (slot->done) {
        rx_slot_keep_timings(slot); /* the result reads them next */
    }
    rx_slot_timings(slot, t);
    rx_stats_end_info e = {
        .method = slot->stats_method,
        .origin = slot->stats_origin,
        .status = slot->status,
        .code = (int)rc,
        .phase = phase,
        .resent = slot->resent,
        .connects = (int)t[7],
        .queue = t[6],
        .namelookup = t[0],
        .connect = t[1],
        .tls = t[2],
        .pretransfer = t[3],
        .first_byte = t[4],
        .total = t[5],
    };
    rx_stats_end(slot->stats, &e, record);
    slot->stats_origin = -1;
}

/*** connections: libcurl's socket callbacks ***/

/* Lock held: remember which origin an open socket counts for. */
static void rx_stats_socket_opened_locked(rx_stats *st, int fd, int origin)
{
    if (fd >= st->sock_cap) {
        int cap = st->sock_cap ? st->sock_cap : 64;
        while (cap <= fd) {
            cap *= 2;
        }
        int *grown = realloc(st->sock_origin, (size_t)cap * sizeof(int));
        if (grown == NULL) {
            return; /* not counted */
        }
        memset(grown + st->sock_cap, 0, (size_t)(cap - st->sock_cap) * sizeof(int));
        st->sock_origin = grown;
        st->sock_cap = cap;
    }
    st->sock_origin[fd] = origin + 1;
    st->origins[origin].open++;
    st->refs++; /* the socket's: it may close after every pool let go */
}

/* CURLOPT_CLOSESOCKETFUNCTION: libcurl keeps it, and its data (the
 * rx_stats), with the connection. */
static int rx_stats_on_close_socket(void *clientp, curl_socket_t fd)
{
    rx_stats *st = clientp;
    int counted = 0;
    rx_stats_lock(st);
    if (fd >= 0 && fd < st->sock_cap && st->sock_origin[fd] != 0) {
        st->origins[st->sock_origin[fd] - 1].open--;
        st->sock_origin[fd] = 0;
        counted = 1;
    }
    pthread_mutex_unlock(&st->lock);
    if (counted) {
        rx_stats_unref(st);
    }
    return close(fd);
}

/* CURLOPT_OPENSOCKETFUNCTION: the socket libcurl would open, counted for
 * the origin of the slot's transfer. */
static curl_socket_t rx_stats_on_open_socket(void *clientp, curlsocktype purpose,
                                             struct curl_sockaddr *addr)
{
    (void)purpose;
    rx_slot *slot = clientp;
    curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    rx_stats *st = slot->stats;
    if (fd != CURL_SOCKET_BAD && st != NULL && slot->stats_origin >= 0) {
        rx_stats_lock(st);
        rx_stats_socket_opened_locked(st, fd, slot->stats_origin);
        pthread_mutex_unlock(&st->lock);
    }
    return fd;
}

/* A new slot of a pool that keeps statistics: count its sockets. */
static void rx_slot_keep_stats(rx_slot *slot, rx_stats *st)
{
    slot->stats = st;
    slot->stats_origin = -1;
    curl_easy_setopt(slot->easy, CURLOPT_OPENSOCKETFUNCTION, rx_stats_on_open_socket);
    curl_easy_setopt(slot->easy, CURLOPT_OPENSOCKETDATA, slot);
    curl_easy_setopt(slot->easy, CURLOPT_CLOSESOCKETFUNCTION, rx_stats_on_close_socket);
    curl_easy_setopt(slot->easy, CURLOPT_CLOSESOCKETDATA, st);
}

/*** Stats: the Python object ***/

typedef struct {
    PyObject_HEAD
    rx_stats *stats;
} StatsObject;

/* Stats(max_origins=1000) */
static PyObject *Stats_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"max_origins", NULL};
    int max_origins = RX_STATS_DEFAULT_MAX_ORIGINS;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i:Stats", kwlist, &max_origins)) {
        return NULL;
    }
    if (max_origins < 1) {
        PyErr_SetString(PyExc_ValueError, "max_origins must be at least 1");
        return NULL;
    }
    StatsObject *self = (StatsObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->stats = rx_stats_new(max_origins);
    if (self->stats == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void Stats_dealloc(StatsObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    rx_stats_unref(self->stats);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* (count, sum, (bucket counts...)) */
static PyObject *histogram_tuple(const rx_histogram *h)
{
    PyObject *buckets = PyTuple_New(RX_STATS_BUCKETS);
    if (buckets == NULL) {
        return NULL;
    }
    for (int i = 0; i < RX_STATS_BUCKETS; i++) {
        PyObject *n = PyLong_FromUnsignedLongLong(h->buckets[i]);
        if (n == NULL) {
            Py_DECREF(buckets);
            return NULL;
        }
        PyTuple_SET_ITEM(buckets, i, n);
    }
    return Py_BuildValue("(KdN)", (unsigned long long)h->count, h->sum, buckets);
}

/* Lock held: the snapshot's four parts (see Stats_snapshot). */
static PyObject *stats_snapshot_locked(rx_stats *st)
{
    PyObject *bounds = NULL, *origins = NULL, *series = NULL, *counters = NULL;
    if ((bounds = PyTuple_New(RX_STATS_BOUNDS)) == NULL) {
        goto fail;
    }
    for (int i = 0; i < RX_STATS_BOUNDS; i++) {
        PyObject *b = PyFloat_FromDouble(rx_stats_bounds[i]);
        if (b == NULL) {
            goto fail;
        }
        PyTuple_SET_ITEM(bounds, i, b);
    }
    if ((origins = PyList_New(st->norigins)) == NULL) {
        goto fail;
    }
    for (int i = 0; i < st->norigins; i++) {
        const rx_stats_origin *o = &st->origins[i];
        PyObject *phases = PyTuple_New(RX_STATS_PHASES);
        if (phases == NULL) {
            goto fail;
        }
        for (int p = 0; p < RX_STATS_PHASES; p++) {
            PyObject *h = histogram_tuple(&o->phases[p]);
            if (h == NULL) {
                Py_DECREF(phases);
                goto fail;
            }
            PyTuple_SET_ITEM(phases, p, h);
        }
        PyObject *item =
            Py_BuildValue("(sLLN)", o->name, (long long)o->open, (long long)o->active, phases);
        if (item == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(origins, i, item);
    }
    if ((series = PyList_New(st->nseries)) == NULL) {
        goto fail;
    }
    for (int i = 0; i < st->nseries; i++) {
        const rx_stats_series *s = &st->series[i];
        PyObject *h = histogram_tuple(&s->duration);
        PyObject *item =
            h ? Py_BuildValue("(isiiiN)", s->origin, s->method, s->status, s->code, s->phase, h)
              : NULL;
        if (item == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(series, i, item);
    }
    if ((counters = PyList_New(st->ncounters)) == NULL) {
        goto fail;
    }
    for (int i = 0; i < st->ncounters; i++) {
        const rx_stats_counter *c = &st->counters[i];
        PyObject *item = Py_BuildValue("(iisL)", c->kind, c->origin, c->label, (long long)c->value);
        if (item == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(counters, i, item);
    }
    return Py_BuildValue("{sNsNsNsN}", "bounds", bounds, "origins", origins, "series", series,
                         "counters", counters);

fail:
    Py_XDECREF(bounds);
    Py_XDECREF(origins);
    Py_XDECREF(series);
    Py_XDECREF(counters);
    return NULL;
}

/* snapshot() -> {"bounds": (...), "origins": [(name, open, active, phases)],
 *                "series": [(origin, method, status, code, phase, hist)],
 *                "counters": [(kind, origin, label, value)]} */
static PyObject *Stats_snapshot(StatsObject *self, PyObject *unused)
{
    (void)unused;
    rx_stats_lock(self->stats);
    PyObject *snapshot = stats_snapshot_locked(self->stats);
    pthread_mutex_unlock(&self->stats->lock);
    return snapshot;
}

/* count(kind, origin, label, value): add to a counter (STAT_STATE: set it). */
static PyObject *Stats_count(StatsObject *self, PyObject *args)
{
    int kind;
    const char *origin, *label;
    long long value;
    if (!PyArg_ParseTuple(args, "issL:count", &kind, &origin, &label, &value)) {
        return NULL;
    }
    if (kind < RX_STAT_RETRY || kind > RX_STAT_STATE) {
        PyErr_SetString(PyExc_ValueError, "kind must be one of the STAT_* constants");
        return NULL;
    }
    if (rx_stats_count(self->stats, kind, origin, label, (int64_t)value) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* The rx_stats of a Stats object passed as `stats=` (None: NULL), with a
 * new reference; -1 with TypeError for anything else. */
static int rx_stats_arg(rx_state *state, PyObject *arg, rx_stats **out)
{
    *out = NULL;
    if (arg == NULL || arg == Py_None) {
        return 0;
    }
    if (!PyObject_TypeCheck(arg, state->stats_type)) {
        PyErr_SetString(PyExc_TypeError, "stats must be a Stats or None");
        return -1;
    }
    *out = ((StatsObject *)arg)->stats;
    rx_stats_ref(*out);
    return 0;
}

#endif
