/* async_engine.h: the engine thread behind AsyncSession.
 *
 * One thread per process owns one libcurl multi handle and an epoll loop
 * (libcurl's sockets and an eventfd for commands), in the manner of curl's
 * ephiperfifo.c; libcurl's timer and the read-timeout deadlines become the
 * timeout of epoll_wait itself, so moving them costs no system call.
 * Nothing here touches Python.
 *
 *   event-loop threads                       engine thread
 *   ------------------                       -------------
 *   rx_engine_submit(xfer)   --command-->    start it now, or queue it behind
 *   rx_engine_cancel(xfer)                   its client's connection limits
 *   rx_xfer_feed(xfer, chunk)                curl_multi_socket_action(...)
 *   rx_port_take() <--one eventfd write--    completions batched per port
 *
 * A port is the mailbox of one asyncio event loop: the engine appends
 * transfers that have news (headers, body data, the end) and writes the
 * port's eventfd once per batch; the loop's reader callback takes them all
 * in one go (rx_port_take) and resolves the futures with the GIL held.
 *
 * Ownership: a transfer is created and finally freed by the Python side. From
 * submit until the engine hands it back with `released` set, the engine may
 * use it; the Python side keeps it alive for that long. All fields shared
 * between the threads are guarded by the engine's one mutex.
 */
#ifndef RX_ASYNC_ENGINE_H
#define RX_ASYNC_ENGINE_H

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "transfer.h"

/* This process's id. getpid() is a system call, asked on every submit to
 * notice a fork; the id changes only in a forked child, where
 * rx_engine_atfork_child() forgets it. */
static pid_t rx_pid;

static pid_t rx_getpid(void)
{
    pid_t pid = __atomic_load_n(&rx_pid, __ATOMIC_RELAXED);
    if (pid == 0) {
        pid = getpid();
        __atomic_store_n(&rx_pid, pid, __ATOMIC_RELAXED);
    }
    return pid;
}

typedef struct rx_port rx_port;
typedef struct rx_client rx_client;
typedef struct rx_xfer rx_xfer;

/* News a port delivers about a transfer (bit flags). */
enum rx_event {
    RX_EV_HEADERS = 1,  /* stream=True: the response is ready, the body follows */
    RX_EV_DATA = 2,     /* stream=True: body bytes (or the end) for a waiting reader */
    RX_EV_DONE = 4,     /* the transfer ended (slot->result says how) */
    RX_EV_RELEASED = 8, /* the engine no longer uses the transfer */
    RX_EV_UPLOAD = 16,  /* a waiting producer may feed more of the request body */
};

/* What rx_xfer_feed() tells the producer of a streamed request body. */
enum rx_feed {
    RX_FEED_MORE = 0, /* go on */
    RX_FEED_WAIT = 1, /* enough is buffered: rx_xfer_upload_wait(), then go on */
    RX_FEED_OVER = 2, /* the transfer has ended: stop producing */
};

struct rx_port {
    int efd;
    int signaled; /* news queued; the eventfd is (or is about to be) written */
    rx_xfer *head, *tail;
    int refs;             /* the Python object, each transfer aimed at it, a pending signal */
    rx_port *signal_next; /* the engine's list of ports to signal */
};

struct rx_client {
    rx_share *share;
    int max_total;
    int max_per_host;
    int active;
    int closed;
    int http2;
    rx_xfer *pending_head, *pending_tail; /* cost: the request spec only */
    rx_slot *idle;
    int idle_count;
    struct rx_host_count {
        char *host;
        int active;
    } * hosts;
    int nhosts;
    int refs; /* the Python object, and each transfer of this client */
    pid_t pid;
};

/* Header lines and settings that many transfers share: AsyncClient reuses
 * the last ones while the caller passes the same Python tuple. Refcounted;
 * whichever thread drops the last reference frees them. */
typedef struct {
    int refs; /* atomic */
    struct curl_slist *list;
} rx_shared_headers;

typedef struct {
    int refs;    /* atomic */
    uint64_t id; /* never reused: a slot that has these settings applied
                  * keeps them (slot->settings_id) instead of re-applying */
    rx_settings st;
    char *strings[RX_SETTINGS_STRINGS]; /* owned; st points into them */
} rx_shared_settings;

/* The last rx_shared_settings.id handed out (atomic). */
static uint64_t rx_settings_last_id;

static void rx_shared_headers_unref(rx_shared_headers *h)
{
    if (h != NULL && __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        curl_slist_free_all(h->list);
        free(h);
    }
}

static void rx_shared_settings_unref(rx_shared_settings *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        for (int i = 0; i < RX_SETTINGS_STRINGS; i++) {
            free(s->strings[i]);
        }
        free(s);
    }
}

/* What the event loop makes a response from: read from the transfer's slot,
 * or from its outcome once the slot has gone back to the pool. */
typedef struct {
    int status;
    int http_version;
    int flags;
    double timings[6];
    const char *head;
    size_t head_len;
    const char *body;
    size_t body_len;
} rx_summary;

/* The engine thread, or any thread once the transfer is off the multi:
 * reads libcurl's handle. The pointers are the slot's buffers. */
static void rx_slot_summarize(rx_slot *slot, rx_summary *s)
{
    s->status = slot->status;
    s->http_version = rx_slot_http_version(slot);
    s->flags = rx_slot_flags(slot);
    rx_slot_timings(slot, s->timings);
    s->head = slot->head.data;
    s->head_len = slot->head.len;
    s->body = slot->body.data;
    s->body_len = slot->body.len;
}

/* A finished whole response, kept when its slot goes back to the pool
 * (rx_engine_finish). */
typedef struct rx_outcome {
    rx_summary info;  /* head (and a small body) point into bytes[] */
    char *body_owned; /* a large body's buffer, moved from the slot */
    char *message;    /* the slot's error message, copied; NULL: none */
    char bytes[];
} rx_outcome;

/* A body up to this size is copied into the outcome, and the slot keeps its
 * buffer; a larger one is moved. */
#define RX_OUTCOME_COPY_BYTES 4096

static void rx_outcome_free(rx_outcome *o)
{
    if (o != NULL) {
        free(o->body_owned);
        free(o->message);
        free(o);
    }
}

/* What only a streamed response or a streamed request body needs; it
 * follows the transfer in its allocation when the transfer has either
 * (10,000 gathered plain requests are spared these bytes each). */
typedef struct {
    rx_buffer up_early; /* fed before the transfer started (engine mutex) */
    rx_buffer spare;    /* stream=True: the body buffer the reader copies out of
                         * (Python side only); swapped with the slot's */
    /* engine thread only (rx_engine_notify_readers): on the list of streams
     * with news this turn */
    rx_xfer *news_prev, *news_next;
    unsigned char up_early_eof;
    unsigned char upload_waiting; /* the producer waits for RX_EV_UPLOAD (engine mutex) */
    unsigned char upload_kick;    /* an unpause for the upload is queued (engine mutex) */
    unsigned char want_data;      /* a reader waits for body bytes (engine mutex) */
    unsigned char body_news;      /* on the engine's list (engine thread only) */
    unsigned char news_put_off;   /* the last turn's wake-up was put off (engine thread) */
} rx_xfer_stream;

/* An outcome with the slot's summary and a copy of its header block, and
 * room for ``body_room`` more bytes after it (the body is left to the
 * caller: info.body and info.body_len are the slot's), or NULL. */
static rx_outcome *rx_outcome_new(rx_slot *slot, size_t body_room)
{
    rx_outcome *o = malloc(sizeof(*o) + slot->head.len + body_room);
    if (o == NULL) {
        return NULL;
    }
    rx_slot_summarize(slot, &o->info);
    if (slot->head.len > 0) {
        memcpy(o->bytes, slot->head.data, slot->head.len);
    }
    o->info.head = o->bytes;
    o->body_owned = NULL;
    o->message = NULL;
    return o;
}

/* A stream's response at the end of its headers: status, version, flags,
 * timings so far and the header block (no body), or NULL. */
static rx_outcome *rx_outcome_of_headers(rx_slot *slot)
{
    rx_outcome *o = rx_outcome_new(slot, 0);
    if (o != NULL) {
        o->info.body = NULL;
        o->info.body_len = 0;
    }
    return o;
}

/* One async request. The one-byte fields are written by different threads
 * under different rules; as separate members (not bit-fields) each is its
 * own memory location. */
struct rx_xfer {
    rx_client *client;
    rx_port *port;
    rx_slot *slot;      /* while running */
    rx_xfer_stream *st; /* NULL unless stream or upload_stream */
    /* the request, owned copies */
    char *method; /* these three follow the struct in its allocation */
    char *url;
    char *host;
    rx_shared_headers *headers; /* NULL: none */
    rx_shared_settings *settings;
    char *body;
    curl_off_t body_len; /* a streamed body's announced length, or -1 */
    long connect_timeout_ms;
    int64_t read_timeout_us;
    rx_xfer *next; /* command queue / pending list / stop list */
    rx_xfer *run_prev, *run_next;
    const char *error; /* a static string, the slot's, or the outcome's */
    rx_xfer *port_next;
    /* the batch rx_port_take() handed out, walked by the event loop without
     * the lock: port_next may be reused meanwhile, when the engine posts again */
    rx_xfer *taken_next;
    void *pyobj; /* the Python object (only the Python side reads it) */
    /* A whole (not streamed) response, kept here when it ends so that its
     * slot, with its libcurl handle, goes back to the pool at once rather
     * than when the event loop gets round to the transfer. */
    struct rx_outcome *outcome;
    CURLcode result;
    int phase;
    pid_t pid;                   /* the process that submitted it */
    int cmd_refs;                /* commands naming it still queued for the engine */
    unsigned char upload_stream; /* the body is fed by rx_xfer_feed() */
    unsigned char stream;
    /* engine-side state */
    unsigned char running;
    unsigned char cancel;      /* asked to stop */
    unsigned char stop_queued; /* on the engine's list of transfers to finish */
    /* shared with the event loop (engine mutex) */
    unsigned char events;   /* undelivered RX_EV_* */
    unsigned char taken;    /* the events handed to the event loop by rx_port_take() */
    unsigned char queued;   /* in its port's list */
    unsigned char finished; /* RX_EV_DONE happened */
    unsigned char released;
    unsigned char orphaned; /* the Python side let go while commands were queued */
};

enum rx_cmd_kind { RX_CMD_SUBMIT = 1, RX_CMD_CANCEL, RX_CMD_UNPAUSE, RX_CMD_CLOSE_CLIENT };

typedef struct rx_cmd {
    int kind;
    rx_xfer *xfer;
    rx_client *client;
    struct rx_cmd *next;
} rx_cmd;

typedef struct {
    pthread_mutex_t lock;
    pthread_t thread;
    int started;
    pid_t pid;
    int epfd;
    int wakefd;
    int64_t curl_deadline_us; /* when libcurl wants socket_action(TIMEOUT), 0: never */
    CURLM *multi;
    rx_cmd *cmd_head, *cmd_tail;
    rx_xfer *running; /* doubly linked through run_prev/run_next */
    rx_xfer *stop_list;
    int64_t read_deadline_us; /* the earliest read-timeout deadline, 0: none */
    int wake_pending;         /* wakefd written and not yet read */
    rx_port *to_signal;       /* ports with news whose eventfd is still to be written */
    rx_xfer *body_news;       /* streams with new body bytes this turn */
} rx_engine;

/* Idle connections the engine's pool may keep (libcurl's default, 4 per
 * running transfer, would close keep-alive connections under load). */
#define RX_ENGINE_MAX_IDLE_CONNECTIONS 1024L

static rx_engine rx_the_engine = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*** ports ***/

static rx_port *rx_port_new(void)
{
    rx_port *port = calloc(1, sizeof(*port));
    if (port == NULL) {
        return NULL;
    }
    port->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (port->efd < 0) {
        free(port);
        return NULL;
    }
    port->refs = 1;
    return port;
}

/* engine lock held */
static void rx_port_unref_locked(rx_port *port)
{
    if (--port->refs == 0) {
        close(port->efd);
        free(port);
    }
}

/* Engine thread, engine lock held: record news for the transfer's port. Its
 * eventfd is written once per engine turn, after the lock is released, by
 * rx_engine_signal_ports(): a wake-up under the lock would let the woken
 * loop thread run (on a shared CPU) only to block on that lock. */
static void rx_post_locked(rx_xfer *x, int events)
{
    rx_port *port = x->port;
    x->events |= events;
    if (!x->queued) {
        x->queued = 1;
        x->port_next = NULL;
        if (port->tail) {
            port->tail->port_next = x;
        } else {
            port->head = x;
        }
        port->tail = x;
    }
    if (!port->signaled) {
        port->signaled = 1;
        port->refs++; /* until signalled */
        port->signal_next = rx_the_engine.to_signal;
        rx_the_engine.to_signal = port;
    }
}

/* Engine thread, lock NOT held: write the eventfd of every port with news. */
static void rx_engine_signal_ports(rx_engine *eng)
{
    if (eng->to_signal == NULL) {
        return; /* only this thread adds to the list: a racy peek is safe */
    }
    pthread_mutex_lock(&eng->lock);
    rx_port *list = eng->to_signal;
    eng->to_signal = NULL;
    pthread_mutex_unlock(&eng->lock);
    for (rx_port *port = list; port != NULL; port = port->signal_next) {
        uint64_t one = 1;
        ssize_t n = write(port->efd, &one, sizeof(one));
        (void)n;
    }
    pthread_mutex_lock(&eng->lock);
    while (list != NULL) {
        rx_port *next = list->signal_next;
        rx_port_unref_locked(list);
        list = next;
    }
    pthread_mutex_unlock(&eng->lock);
}

/* Take every transfer with news; their `events` are for the caller to clear. */
static rx_xfer *rx_port_take(rx_port *port)
{
    uint64_t value;
    /* read first: a signal written after the list is taken must stay */
    ssize_t n = read(port->efd, &value, sizeof(value));
    (void)n;
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_xfer *list = port->head;
    port->head = port->tail = NULL;
    port->signaled = 0;
    for (rx_xfer *x = list; x != NULL; x = x->port_next) {
        x->taken_next = x->port_next;
        x->queued = 0;
        x->taken = x->events;
        x->events = 0;
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    return list;
}

/*** clients ***/

static rx_client *rx_client_new(int max_total, int max_per_host, int http2)
{
    rx_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->share = rx_share_new();
    if (c->share == NULL) {
        free(c);
        return NULL;
    }
    c->max_total = max_total > 0 ? max_total : 1;
    c->max_per_host = max_per_host > 0 ? max_per_host : c->max_total;
    c->http2 = http2;
    c->refs = 1;
    c->pid = rx_getpid();
    return c;
}

/* Engine lock held. In a child after fork(), the client's pool holds the
 * parent's sockets and TLS state: leave them alone (leak them) and start an
 * empty pool; transfers from before the fork are not this process's. */
static int rx_client_check_fork(rx_client *c)
{
    if (c->pid == rx_getpid()) {
        return 0;
    }
    rx_share *share = rx_share_new();
    if (share == NULL) {
        return -1;
    }
    c->share = share;
    c->idle = NULL;
    c->idle_count = 0;
    c->active = 0;
    c->pending_head = c->pending_tail = NULL;
    c->hosts = NULL;
    c->nhosts = 0;
    c->refs = 1; /* the Python object; pre-fork transfers never give theirs back */
    c->pid = rx_getpid();
    return 0;
}

/* Engine lock held: free the client once nobody uses it. */
static void rx_client_unref(rx_client *c)
{
    if (--c->refs > 0) {
        return;
    }
    while (c->idle != NULL) {
        rx_slot *slot = c->idle;
        c->idle = slot->next;
        rx_slot_free(slot);
    }
    for (int i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].host);
    }
    free(c->hosts);
    rx_share_detach(c->share);
    free(c);
}

static struct rx_host_count *rx_client_host(rx_client *c, const char *host, int create)
{
    for (int i = 0; i < c->nhosts; i++) {
        if (strcmp(c->hosts[i].host, host) == 0) {
            return &c->hosts[i];
        }
    }
    if (!create) {
        return NULL;
    }
    struct rx_host_count *grown = realloc(c->hosts, (c->nhosts + 1) * sizeof(*grown));
    if (grown == NULL) {
        return NULL;
    }
    c->hosts = grown;
    c->hosts[c->nhosts].host = strdup(host);
    c->hosts[c->nhosts].active = 0;
    return c->hosts[c->nhosts].host ? &c->hosts[c->nhosts++] : NULL;
}

/*** transfers ***/

static void rx_xfer_free_request(rx_xfer *x)
{
    free(x->body);       /* method, url and host live in the transfer's allocation */
    if (x->st != NULL) { /* part of the transfer's allocation */
        rx_buffer_free(&x->st->up_early);
        rx_buffer_free(&x->st->spare);
    }
    rx_outcome_free(x->outcome);
    x->outcome = NULL;
    rx_shared_headers_unref(x->headers);
    rx_shared_settings_unref(x->settings);
    x->method = x->url = x->host = x->body = NULL;
    x->headers = NULL;
    x->settings = NULL;
}

/* Engine thread: the list of streams with new body bytes this turn. */
static void rx_news_link(rx_engine *eng, rx_xfer *x)
{
    x->st->body_news = 1;
    x->st->news_prev = NULL;
    x->st->news_next = eng->body_news;
    if (eng->body_news != NULL) {
        eng->body_news->st->news_prev = x;
    }
    eng->body_news = x;
}

static void rx_news_unlink(rx_engine *eng, rx_xfer *x)
{
    rx_xfer_stream *st = x->st;
    if (st == NULL || !st->body_news) {
        return;
    }
    if (st->news_prev != NULL) {
        st->news_prev->st->news_next = st->news_next;
    } else {
        eng->body_news = st->news_next;
    }
    if (st->news_next != NULL) {
        st->news_next->st->news_prev = st->news_prev;
    }
    st->body_news = 0;
    st->news_prev = st->news_next = NULL;
}

/* Engine thread, end of a turn: wake the readers waiting for the body bytes
 * that arrived. A stream whose socket holds more of its HTTP/1 body is read
 * again in the next turn, which starts at once (rx_engine_wait_ms), so its
 * reader is woken after that one, with more, while less than RX_WAKE_BYTES
 * is buffered; put off once, never twice in a row. */
static void rx_engine_notify_readers(rx_engine *eng)
{
    rx_xfer *x = eng->body_news;
    eng->body_news = NULL;
    while (x != NULL) {
        rx_xfer_stream *st = x->st;
        rx_xfer *next = st->news_next;
        rx_slot *slot = x->slot;
        st->body_news = 0;
        st->news_prev = st->news_next = NULL;
        pthread_mutex_lock(&eng->lock);
        int small = rx_slot_buffered(slot) < RX_WAKE_BYTES && !slot->paused;
        pthread_mutex_unlock(&eng->lock);
        if (!st->news_put_off && small && rx_more_to_read(slot)) {
            rx_news_link(eng, x);
            st->news_put_off = 1;
        } else {
            st->news_put_off = 0;
            pthread_mutex_lock(&eng->lock);
            if (st->want_data) {
                st->want_data = 0;
                rx_post_locked(x, RX_EV_DATA);
            }
            pthread_mutex_unlock(&eng->lock);
        }
        x = next;
    }
}

/* Engine thread: news from libcurl's callbacks for a running transfer. */
static void rx_xfer_notice(rx_slot *slot, enum rx_notice notice)
{
    rx_xfer *x = slot->owner;
    if (notice == RX_NOTICE_HEADERS) {
        if (slot->stop_at_headers && !x->stop_queued) {
            x->stop_queued = 1; /* finished after socket_action returns */
            x->next = rx_the_engine.stop_list;
            rx_the_engine.stop_list = x;
        }
        if (x->stream) {
            /* The event loop makes the response from this snapshot: the
             * handle's version and timings are read here, on the thread that
             * drives it, not from the loop while it runs. Without memory
             * for it, the loop reads the slot as before. */
            rx_outcome *o = rx_outcome_of_headers(slot);
            pthread_mutex_lock(&rx_the_engine.lock);
            if (o != NULL) {
                rx_outcome_free(x->outcome);
                x->outcome = o;
            }
            rx_post_locked(x, RX_EV_HEADERS);
            pthread_mutex_unlock(&rx_the_engine.lock);
        }
    } else if (notice == RX_NOTICE_BODY && x->stream) {
        if (!x->st->body_news) {
            rx_news_link(&rx_the_engine, x); /* the reader hears at the end of the turn */
        }
    } else if (notice == RX_NOTICE_UPLOAD) {
        pthread_mutex_lock(&rx_the_engine.lock);
        if (x->st->upload_waiting) {
            x->st->upload_waiting = 0;
            rx_post_locked(x, RX_EV_UPLOAD);
        }
        pthread_mutex_unlock(&rx_the_engine.lock);
    }
}

/* Engine thread. The idle list is shared with rx_xfer_dispose(), which runs
 * on event-loop threads, hence the lock. */
static rx_slot *rx_client_slot(rx_client *c)
{
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_slot *slot = c->idle;
    if (slot != NULL) {
        c->idle = slot->next;
        c->idle_count--;
        slot->next = NULL;
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (slot != NULL) {
        return slot;
    }
    slot = rx_slot_new(c->share, 0);
    if (slot != NULL) {
        slot->lock = &rx_the_engine.lock;
        slot->notify = rx_xfer_notice;
        curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, (char *)slot);
    }
    return slot;
}

/* Engine thread: configure a slot for the transfer and add it to the multi. */
static CURLcode rx_engine_start(rx_engine *eng, rx_xfer *x)
{
    rx_client *c = x->client;
    rx_slot *slot = rx_client_slot(c);
    if (slot == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }
    slot->owner = x;
    if (slot->settings_id != x->settings->id) {
        rx_slot_apply_settings(slot, &x->settings->st);
        slot->settings_id = x->settings->id;
    }
    curl_easy_setopt(slot->easy, CURLOPT_PIPEWAIT, c->http2 ? 1L : 0L);
    rx_request req = {
        .method = x->method,
        .url = x->url,
        .headers = x->headers != NULL ? x->headers->list : NULL,
        .body = x->body,
        .body_len = x->body_len,
        .upload_stream = x->upload_stream,
        .connect_timeout_ms = x->connect_timeout_ms,
        .read_timeout_us = x->read_timeout_us,
        .stream = x->stream,
    };
    CURLcode rc = rx_slot_start(slot, &req);
    if (rc == CURLE_OK && curl_multi_add_handle(eng->multi, slot->easy) != CURLM_OK) {
        rc = CURLE_OUT_OF_MEMORY;
    }
    if (rc != CURLE_OK) {
        slot->owner = NULL;
        pthread_mutex_lock(&rx_the_engine.lock);
        slot->next = c->idle;
        c->idle = slot;
        c->idle_count++;
        pthread_mutex_unlock(&rx_the_engine.lock);
        return rc;
    }
    slot->attached = 1;
    /* From here on the producer feeds the slot's buffer: what it fed so far
     * moves over in the same step (no callback runs before the next
     * socket_action on this thread). */
    pthread_mutex_lock(&rx_the_engine.lock);
    if (x->upload_stream) {
        rx_buffer early = x->st->up_early;
        x->st->up_early = slot->up; /* empty; freed with the transfer */
        slot->up = early;
        slot->up_eof = x->st->up_early_eof;
    }
    x->slot = slot;
    pthread_mutex_unlock(&rx_the_engine.lock);
    x->running = 1;
    c->active++;
    struct rx_host_count *h = rx_client_host(c, x->host, 1);
    if (h != NULL) {
        h->active++;
    }
    x->run_prev = NULL;
    x->run_next = eng->running;
    if (eng->running) {
        eng->running->run_prev = x;
    }
    eng->running = x;
    return CURLE_OK;
}

/* Engine thread: the transfer is over (done, failed or cancelled): give back
 * its handle, tell its port, and let the next queued transfer of its client
 * start. `result` is ignored for a cancelled transfer. */
static void rx_engine_finish(rx_engine *eng, rx_xfer *x, CURLcode result, const char *msg);
static void rx_xfer_recycle_slot_locked(rx_xfer *x);
static int rx_xfer_keep_outcome(rx_xfer *x, rx_slot *slot, const char **error);
/* (msg, when not NULL, is a static string) */

static void rx_engine_start_pending(rx_engine *eng, rx_client *c)
{
    rx_xfer *prev = NULL, *x = c->pending_head;
    while (x != NULL && c->active < c->max_total) {
        rx_xfer *next = x->next;
        struct rx_host_count *h = rx_client_host(c, x->host, 0);
        if (h != NULL && h->active >= c->max_per_host) {
            prev = x;
            x = next;
            continue;
        }
        if (prev) {
            prev->next = next;
        } else {
            c->pending_head = next;
        }
        if (c->pending_tail == x) {
            c->pending_tail = prev;
        }
        x->next = NULL;
        CURLcode rc = rx_engine_start(eng, x);
        if (rc != CURLE_OK) {
            rx_engine_finish(eng, x, rc, NULL);
        }
        x = next;
    }
}

static void rx_engine_finish(rx_engine *eng, rx_xfer *x, CURLcode result, const char *msg)
{
    rx_client *c = x->client;
    rx_slot *slot = x->slot;
    rx_news_unlink(eng, x); /* RX_EV_DONE wakes its reader */
    if (x->stop_queued) {   /* never leave a pointer to a transfer handed back */
        rx_xfer **link = &eng->stop_list;
        while (*link != NULL && *link != x) {
            link = &(*link)->next;
        }
        if (*link == x) {
            *link = x->next;
        }
        x->stop_queued = 0;
        x->next = NULL;
    }
    if (x->running) {
        if (x->run_prev) {
            x->run_prev->run_next = x->run_next;
        } else {
            eng->running = x->run_next;
        }
        if (x->run_next) {
            x->run_next->run_prev = x->run_prev;
        }
        x->running = 0;
        c->active--;
        struct rx_host_count *h = rx_client_host(c, x->host, 0);
        if (h != NULL) {
            h->active--;
        }
        curl_multi_remove_handle(eng->multi, slot->easy);
        slot->attached = 0;
    }
    /* A slot that stays with the transfer is not reused before the transfer
     * is disposed of: its messages can be pointed at. */
    const char *error = msg != NULL    ? msg
                        : slot != NULL ? rx_slot_message(slot, result)
                                       : curl_easy_strerror(result);
    /* A whole response is kept in an outcome and its slot goes back to the
     * pool now; a stream's body is read from the slot, which stays with the
     * transfer until the Python side frees it. */
    int recycle = slot != NULL && !x->stream && rx_xfer_keep_outcome(x, slot, &error) == 0;
    pthread_mutex_lock(&eng->lock);
    x->result = result;
    x->phase = slot ? rx_slot_error_phase(slot) : RX_PHASE_CONNECT;
    x->error = error;
    x->finished = 1;
    if (recycle) {
        rx_xfer_recycle_slot_locked(x);
    }
    x->released = 1;
    if (x->st != NULL) {
        x->st->want_data = 0;
    }
    /* Once posted, the event loop may free the transfer and, with it, the
     * last reference to a closed client: hold one until we are done here. */
    c->refs++;
    rx_post_locked(x, RX_EV_DONE | RX_EV_RELEASED);
    pthread_mutex_unlock(&eng->lock);
    rx_engine_start_pending(eng, c);
    pthread_mutex_lock(&eng->lock);
    rx_client_unref(c);
    pthread_mutex_unlock(&eng->lock);
}

/* Engine lock held: the transfer's slot goes back to its client's pool. */
static void rx_xfer_recycle_slot_locked(rx_xfer *x)
{
    rx_slot *slot = x->slot;
    rx_client *c = x->client;
    x->slot = NULL;
    if (slot != NULL) {
        slot->owner = NULL;
        rx_slot_clear_buffers(slot);
        if (!c->closed && c->idle_count < 64) {
            slot->next = c->idle;
            c->idle = slot;
            c->idle_count++;
        } else {
            rx_slot_free(slot); /* under the lock: it updates its share's count */
        }
    }
}

/* Engine thread, the transfer removed from the multi: keep what the event
 * loop needs of a whole response in an outcome (and ``*error``, if it is the
 * slot's, in a copy). 0, or -1 (out of memory: the slot then stays with the
 * transfer, as a stream's does). */
static int rx_xfer_keep_outcome(rx_xfer *x, rx_slot *slot, const char **error)
{
    size_t copied = slot->body.len <= RX_OUTCOME_COPY_BYTES ? slot->body.len : 0;
    rx_outcome *o = rx_outcome_new(slot, copied);
    if (o == NULL) {
        return -1;
    }
    if (*error == slot->note || *error == slot->errbuf) {
        if ((o->message = strdup(*error)) == NULL) {
            free(o);
            return -1;
        }
        *error = o->message;
    }
    if (copied > 0 || slot->body.len == 0) {
        if (copied > 0) {
            memcpy(o->bytes + slot->head.len, slot->body.data, copied);
        }
        o->info.body = o->bytes + slot->head.len;
    } else {
        o->body_owned = slot->body.data; /* moved; info.body points at it */
        slot->body = (rx_buffer){0};
    }
    x->outcome = o;
    return 0;
}

/* Engine lock held: give back the transfer's slot, port and client. */
static void rx_xfer_release_locked(rx_xfer *x)
{
    rx_client *c = x->client;
    rx_xfer_recycle_slot_locked(x);
    if (x->port) {
        rx_port_unref_locked(x->port);
        x->port = NULL;
    }
    rx_client_unref(c);
}

/* Any thread, engine lock NOT held: the Python side is done with a transfer
 * the engine has released. It is freed now, or by the engine once the last
 * command naming it (a late cancel or unpause) has been handled. */
static void rx_xfer_dispose(rx_xfer *x)
{
    if (x->pid != rx_getpid()) {
        return; /* inherited through fork(): its handle and pool are the parent's */
    }
    pthread_mutex_lock(&rx_the_engine.lock);
    if (x->cmd_refs > 0) {
        x->orphaned = 1;
        pthread_mutex_unlock(&rx_the_engine.lock);
        return;
    }
    rx_xfer_release_locked(x);
    pthread_mutex_unlock(&rx_the_engine.lock);
    rx_xfer_free_request(x);
    free(x);
}

/* Engine thread: a command naming `x` has been handled. */
static void rx_xfer_command_done(rx_engine *eng, rx_xfer *x)
{
    pthread_mutex_lock(&eng->lock);
    int orphan = --x->cmd_refs == 0 && x->orphaned;
    if (orphan) {
        rx_xfer_release_locked(x);
    }
    pthread_mutex_unlock(&eng->lock);
    if (orphan) {
        rx_xfer_free_request(x);
        free(x);
    }
}

/*** streamed request bodies (event-loop threads) ***/

static size_t rx_xfer_upload_buffered_locked(const rx_xfer *x)
{
    return x->slot != NULL ? x->slot->up.len - x->slot->up_pos : x->st->up_early.len;
}

static int rx_engine_send(int kind, rx_xfer *x, rx_client *c);

/* Append a chunk of the request body; len 0 ends it. Returns an rx_feed, or
 * -1 when memory ran out. */
static int rx_xfer_feed(rx_xfer *x, const char *data, size_t len)
{
    int kick = 0;
    pthread_mutex_lock(&rx_the_engine.lock);
    if (x->finished || x->cancel) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        return RX_FEED_OVER;
    }
    rx_slot *slot = x->slot;
    rx_buffer *b = &x->st->up_early; /* upload_stream: st is there */
    if (slot != NULL) {
        b = &slot->up;
        if (slot->up_pos > 0) { /* drop what libcurl has taken */
            memmove(b->data, b->data + slot->up_pos, b->len - slot->up_pos);
            b->len -= slot->up_pos;
            slot->up_pos = 0;
        }
    }
    if (rx_buffer_append(b, data, len) < 0) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        return -1;
    }
    if (len == 0) {
        if (slot != NULL) {
            slot->up_eof = 1;
        } else {
            x->st->up_early_eof = 1;
        }
    }
    if (slot != NULL && slot->up_wanted && !x->st->upload_kick) {
        x->st->upload_kick = kick = 1; /* libcurl waits for this: resume it */
    }
    int full = rx_xfer_upload_buffered_locked(x) >= RX_UPLOAD_HIGH_BYTES;
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (kick && rx_engine_send(RX_CMD_UNPAUSE, x, NULL) < 0) {
        return -1;
    }
    return full ? RX_FEED_WAIT : RX_FEED_MORE;
}

/* 1: the producer must wait for RX_EV_UPLOAD (or the end) before feeding
 * more; 0: it may go on at once (libcurl has taken enough meanwhile). */
static int rx_xfer_upload_wait(rx_xfer *x)
{
    pthread_mutex_lock(&rx_the_engine.lock);
    int wait = !x->finished && rx_xfer_upload_buffered_locked(x) >= RX_UPLOAD_LOW_BYTES;
    x->st->upload_waiting = (unsigned char)wait;
    pthread_mutex_unlock(&rx_the_engine.lock);
    return wait;
}

/*** the engine thread ***/

/* libcurl's socket callback. A socket it watches carries a non-NULL
 * `sockp` (curl_multi_assign), so each change costs one epoll_ctl: ADD the
 * first time, MOD after, DEL at the end (libcurl then forgets `sockp`). */
static int rx_engine_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    (void)easy;
    rx_engine *eng = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (sockp != NULL) {
        epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev);
    } else if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
               (errno == EEXIST && epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
        curl_multi_assign(eng->multi, fd, eng); /* any non-NULL marker */
    }
    return 0;
}

static int rx_engine_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    rx_engine *eng = userp;
    eng->curl_deadline_us = timeout_ms < 0 ? 0 : rx_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

/* epoll_wait's timeout: until the nearer of libcurl's and the read deadline. */
static int rx_engine_wait_ms(const rx_engine *eng)
{
    if (eng->body_news != NULL) {
        return 0; /* a reader's wake-up was put off to the next turn */
    }
    int64_t next = eng->curl_deadline_us;
    if (eng->read_deadline_us && (next == 0 || eng->read_deadline_us < next)) {
        next = eng->read_deadline_us;
    }
    if (next == 0) {
        return -1;
    }
    int64_t left = next - rx_now_us();
    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

static void rx_engine_collect(rx_engine *eng)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(eng->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        rx_slot *slot = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
        if (slot != NULL && slot->owner != NULL) {
            rx_engine_finish(eng, slot->owner, msg->data.result, NULL);
        }
    }
    while (eng->stop_list != NULL) { /* HEAD with a body: done at the headers */
        rx_xfer *x = eng->stop_list;
        eng->stop_list = x->next;
        x->next = NULL;
        x->stop_queued = 0;
        if (x->running) {
            rx_engine_finish(eng, x, CURLE_OK, NULL);
        }
    }
}

/* Abort transfers idle for longer than their read timeout; arm the read
 * timer for the next deadline. */
static void rx_engine_read_timeouts(rx_engine *eng)
{
    int64_t now = rx_now_us(), next = 0;
    rx_xfer *x = eng->running;
    while (x != NULL) {
        rx_xfer *after = x->run_next;
        rx_slot *slot = x->slot;
        if (x->read_timeout_us > 0 && !rx_read_clock_stopped(slot)) {
            int64_t deadline = slot->last_activity_us + x->read_timeout_us;
            if (deadline <= now) {
                snprintf(slot->note, sizeof(slot->note), "no data received for %.3f seconds",
                         x->read_timeout_us / 1e6);
                rx_engine_finish(eng, x, CURLE_OPERATION_TIMEDOUT, NULL);
            } else if (next == 0 || deadline < next) {
                next = deadline;
            }
        }
        x = after;
    }
    eng->read_deadline_us = next;
}

static void rx_engine_commands(rx_engine *eng)
{
    uint64_t value;
    ssize_t n = read(eng->wakefd, &value, sizeof(value));
    (void)n;
    pthread_mutex_lock(&eng->lock);
    rx_cmd *cmd = eng->cmd_head;
    eng->cmd_head = eng->cmd_tail = NULL;
    eng->wake_pending = 0;
    pthread_mutex_unlock(&eng->lock);
    while (cmd != NULL) {
        rx_cmd *next = cmd->next;
        rx_xfer *x = cmd->xfer;
        switch (cmd->kind) {
        case RX_CMD_SUBMIT:
            if (x->cancel) {
                rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
                break;
            }
            x->next = NULL;
            if (x->client->pending_tail) {
                x->client->pending_tail->next = x;
            } else {
                x->client->pending_head = x;
            }
            x->client->pending_tail = x;
            rx_engine_start_pending(eng, x->client);
            break;
        case RX_CMD_CANCEL:
            if (x->running) {
                rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
            } else if (!x->finished) {
                /* still queued: unlink it from its client's pending list */
                rx_client *c = x->client;
                rx_xfer *prev = NULL;
                for (rx_xfer *p = c->pending_head; p != NULL; prev = p, p = p->next) {
                    if (p == x) {
                        if (prev) {
                            prev->next = p->next;
                        } else {
                            c->pending_head = p->next;
                        }
                        if (c->pending_tail == p) {
                            c->pending_tail = prev;
                        }
                        rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
                        break;
                    }
                }
            }
            break;
        case RX_CMD_UNPAUSE:
            if (x->running) {
                rx_slot *slot = x->slot;
                pthread_mutex_lock(&eng->lock);
                int resume = slot->paused;
                slot->paused = 0;
                if (x->st != NULL) {
                    x->st->upload_kick = 0;
                }
                if (slot->up_wanted && (slot->up.len > slot->up_pos || slot->up_eof)) {
                    slot->up_wanted = 0;
                    resume = 1;
                }
                pthread_mutex_unlock(&eng->lock);
                if (resume) {
                    slot->last_activity_us = rx_now_us();
                    curl_easy_pause(slot->easy, CURLPAUSE_CONT);
                }
            }
            break;
        case RX_CMD_CLOSE_CLIENT:
            pthread_mutex_lock(&eng->lock);
            cmd->client->closed = 1;
            rx_client_unref(cmd->client);
            pthread_mutex_unlock(&eng->lock);
            break;
        }
        if (x != NULL) {
            rx_xfer_command_done(eng, x);
        }
        free(cmd);
        cmd = next;
    }
}

static void *rx_engine_main(void *arg)
{
    rx_engine *eng = arg;
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(eng->epfd, events, 64, rx_engine_wait_ms(eng));
        int running = 0;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == eng->wakefd) {
                rx_engine_commands(eng);
            } else {
                int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                            (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                            (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(eng->multi, fd, flags, &running);
            }
        }
        if (eng->curl_deadline_us && rx_now_us() >= eng->curl_deadline_us) {
            eng->curl_deadline_us = 0;
            curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        rx_engine_collect(eng);
        rx_engine_read_timeouts(eng);
        rx_engine_notify_readers(eng);
        rx_engine_signal_ports(eng);
    }
    return NULL;
}

static int rx_engine_add_fd(rx_engine *eng, int fd)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Start the engine in this process if it is not running (after fork() the
 * child has no engine thread: the parent's state is abandoned). Returns 0 or
 * -1. Engine lock held. */
static int rx_engine_ensure_locked(void)
{
    rx_engine *eng = &rx_the_engine;
    if (eng->started && eng->pid == rx_getpid()) {
        return 0;
    }
    eng->cmd_head = eng->cmd_tail = NULL;
    eng->running = NULL;
    eng->to_signal = NULL;
    eng->body_news = NULL;
    eng->stop_list = NULL;
    eng->read_deadline_us = 0;
    eng->wake_pending = 0;
    eng->epfd = epoll_create1(EPOLL_CLOEXEC);
    eng->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    eng->curl_deadline_us = 0;
    eng->multi = curl_multi_init();
    if (eng->epfd < 0 || eng->wakefd < 0 || eng->multi == NULL) {
        return -1;
    }
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, rx_engine_on_socket);
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, eng);
    curl_multi_setopt(eng->multi, CURLMOPT_TIMERFUNCTION, rx_engine_on_timer);
    curl_multi_setopt(eng->multi, CURLMOPT_TIMERDATA, eng);
    curl_multi_setopt(eng->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, RX_ENGINE_MAX_IDLE_CONNECTIONS);
    if (rx_engine_add_fd(eng, eng->wakefd) < 0) {
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&eng->thread, &attr, rx_engine_main, eng);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        return -1;
    }
    eng->started = 1;
    eng->pid = rx_getpid();
    return 0;
}

/* Any thread: queue a command for the engine and wake it. 0 or -1. */
static int rx_engine_send(int kind, rx_xfer *x, rx_client *c)
{
    rx_cmd *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL) {
        return -1;
    }
    cmd->kind = kind;
    cmd->xfer = x;
    cmd->client = c;
    pthread_mutex_lock(&rx_the_engine.lock);
    if (rx_engine_ensure_locked() < 0) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        free(cmd);
        return -1;
    }
    if (x != NULL) {
        x->cmd_refs++; /* keeps it alive until the engine has handled cmd */
    }
    if (rx_the_engine.cmd_tail) {
        rx_the_engine.cmd_tail->next = cmd;
    } else {
        rx_the_engine.cmd_head = cmd;
    }
    rx_the_engine.cmd_tail = cmd;
    /* one wake-up per batch of commands, written after unlocking: woken
     * under the lock, the engine thread would only block on it */
    int wake = !rx_the_engine.wake_pending;
    rx_the_engine.wake_pending = 1;
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t n = write(rx_the_engine.wakefd, &one, sizeof(one));
        (void)n;
    }
    return 0;
}

/* After fork() in the child: the engine thread does not exist here, and the
 * mutex may have been held by it at the moment of the fork. */
static void rx_engine_atfork_child(void)
{
    rx_pid = 0;
    pthread_mutex_init(&rx_the_engine.lock, NULL);
    rx_the_engine.started = 0;
}

#endif
