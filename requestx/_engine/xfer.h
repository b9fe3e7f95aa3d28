/* xfer.h: one async request, from submit to the event loop's last look.
 *
 * An rx_xfer is created by AsyncClient.submit() (async_types.h) with owned
 * copies of the request, queued behind its pool's connection limits on the
 * engine thread, started on a slot when the limits allow (rx_engine_start),
 * and finished (rx_engine_finish) when libcurl is done with it, it is
 * cancelled or it times out. A whole response is then copied into an
 * outcome and the slot goes back to the pool at once; a stream keeps its
 * slot, since its body is read from there.
 *
 * Ownership: a transfer is created and finally freed by the Python side. From
 * submit until the engine hands it back with `released` set, the engine may
 * use it; the Python side keeps it alive for that long. All fields shared
 * between the threads are guarded by the engine's one mutex
 * (rx_the_engine.lock, process.h).
 *
 * The async pool (rx_async_pool) is the C side of an AsyncClient: idle slots
 * (pool.h), the connection limits and the queue of requests waiting for
 * them. Per-host counts cap max_connections_per_host.
 */
#ifndef RX_XFER_H
#define RX_XFER_H

#include <errno.h>
#include <pthread.h>

#include "pool.h"
#include "request.h"
#include "stats.h"

typedef struct rx_async_pool rx_async_pool;

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

struct rx_async_pool {
    rx_pool slots; /* idle slots, their share, the process they belong to */
    int max_total;
    int max_per_host;
    int active;
    int closed;
    int http2;
    rx_xfer *queue_head, *queue_tail; /* waiting for the limits: no slot yet */
    struct rx_host_count {
        char *host;
        int active;
    } * hosts;
    int nhosts;
    int refs;        /* the Python object, and each transfer of this pool */
    rx_stats *stats; /* AsyncClient(stats=...): a reference, or NULL */
};

/* What the event loop makes a response from: read from the transfer's slot,
 * or from its outcome once the slot has gone back to the pool. */
typedef struct {
    int status;
    int http_version;
    int flags;
    double timings[RX_TIMINGS];
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
    rx_async_pool *pool;
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
    curl_off_t body_len;        /* a streamed body's announced length, or -1 */
    int32_t connect_timeout_ms; /* int32: ms up to 24 days, and the struct stays small */
    int32_t total_timeout_ms;
    int64_t read_timeout_us;
    int64_t submitted_us; /* when submit() was called: its queue time starts */
    rx_xfer *next;        /* command queue / pending list / stop list */
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

/* What event-loop threads ask of the engine thread (rx_engine_send). */
enum rx_cmd_kind { RX_CMD_SUBMIT = 1, RX_CMD_CANCEL, RX_CMD_UNPAUSE, RX_CMD_CLOSE_POOL };

/* Defined with the port (port.h) and the engine thread (loop.h). */
static void rx_post_locked(rx_xfer *x, int events);
static void rx_port_unref_locked(rx_port *port);
static int rx_engine_send(int kind, rx_xfer *x, rx_async_pool *c);

/*** the async pool ***/

/* ``stats``: a reference the pool takes over, or NULL. */
static rx_async_pool *rx_async_pool_new(int max_total, int max_per_host, int http2, rx_stats *stats)
{
    rx_async_pool *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->slots.share = rx_share_new(1);
    if (c->slots.share == NULL) {
        free(c);
        return NULL;
    }
    c->max_total = max_total > 0 ? max_total : 1;
    c->max_per_host = max_per_host > 0 ? max_per_host : c->max_total;
    c->http2 = http2;
    c->refs = 1;
    c->slots.pid = rx_getpid();
    c->stats = stats;
    return c;
}

/* Engine lock held. In a child after fork() (see pool.h): an empty pool;
 * transfers from before the fork are not this process's. 0, or -1 when
 * memory ran out. */
static int rx_async_pool_check_fork(rx_async_pool *c)
{
    int forked = rx_pool_check_fork(&c->slots, 1);
    if (forked == 1) {
        c->active = 0;
        c->queue_head = c->queue_tail = NULL;
        c->hosts = NULL;
        c->nhosts = 0;
        c->refs = 1; /* the Python object; pre-fork transfers never give theirs back */
    }
    return forked < 0 ? -1 : 0;
}

/* Engine lock held: free the pool once nobody uses it. */
static void rx_async_pool_unref(rx_async_pool *c)
{
    if (--c->refs > 0) {
        return;
    }
    rx_slot *slot;
    while ((slot = rx_pool_take(&c->slots)) != NULL) {
        rx_slot_free(slot);
    }
    for (int i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].host);
    }
    free(c->hosts);
    rx_share_detach(c->slots.share);
    rx_stats_unref(c->stats);
    free(c);
}

static struct rx_host_count *rx_async_pool_host(rx_async_pool *c, const char *host, int create)
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
static rx_slot *rx_async_pool_slot(rx_async_pool *c)
{
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_slot *slot = rx_pool_take(&c->slots);
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (slot != NULL) {
        return slot;
    }
    slot = rx_slot_new(c->slots.share, 0, sizeof(rx_slot));
    if (slot != NULL) {
        slot->lock = &rx_the_engine.lock;
        slot->notify = rx_xfer_notice;
        curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, (char *)slot);
        if (c->stats != NULL) {
            rx_slot_keep_stats(slot, c->stats);
        }
    }
    return slot;
}

/* Engine thread: configure a slot for the transfer and add it to the multi. */
static CURLcode rx_engine_start(rx_engine *eng, rx_xfer *x)
{
    rx_async_pool *c = x->pool;
    rx_slot *slot = rx_async_pool_slot(c);
    if (slot == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }
    slot->owner = x;
    rx_slot_use_settings(slot, x->settings);
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
        .total_timeout_ms = x->total_timeout_ms,
        .stream = x->stream,
        .queue_us = rx_now_us() - x->submitted_us,
    };
    if (slot->stats != NULL) {
        rx_slot_stats_begin(slot, x->method, x->url);
    }
    CURLcode rc = rx_slot_start(slot, &req);
    if (rc == CURLE_OK && curl_multi_add_handle(eng->multi, slot->easy) != CURLM_OK) {
        rc = CURLE_OUT_OF_MEMORY;
    }
    if (rc != CURLE_OK) {
        rx_slot_stats_end(slot, rc, RX_PHASE_CONNECT, 0);
        slot->owner = NULL;
        pthread_mutex_lock(&rx_the_engine.lock);
        if (!rx_pool_keep(&c->slots, slot)) {
            rx_slot_free(slot);
        }
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
    struct rx_host_count *h = rx_async_pool_host(c, x->host, 1);
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
 * its handle, tell its port, and let the next queued transfer of its pool
 * start. `result` is ignored for a cancelled transfer. */
static void rx_engine_finish(rx_engine *eng, rx_xfer *x, CURLcode result, const char *msg);
static void rx_xfer_recycle_slot_locked(rx_xfer *x);
static int rx_xfer_keep_outcome(rx_xfer *x, rx_slot *slot, const char **error);
/* (msg, when not NULL, is a static string) */

static void rx_engine_start_queued(rx_engine *eng, rx_async_pool *c)
{
    rx_xfer *prev = NULL, *x = c->queue_head;
    while (x != NULL && c->active < c->max_total) {
        rx_xfer *next = x->next;
        struct rx_host_count *h = rx_async_pool_host(c, x->host, 0);
        if (h != NULL && h->active >= c->max_per_host) {
            prev = x;
            x = next;
            continue;
        }
        if (prev) {
            prev->next = next;
        } else {
            c->queue_head = next;
        }
        if (c->queue_tail == x) {
            c->queue_tail = prev;
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
    rx_async_pool *c = x->pool;
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
        struct rx_host_count *h = rx_async_pool_host(c, x->host, 0);
        if (h != NULL) {
            h->active--;
        }
        curl_multi_remove_handle(eng->multi, slot->easy);
        slot->attached = 0;
        rx_slot_keep_timings(slot); /* for the statistics and the outcome */
        rx_slot_stats_end(slot, result, rx_slot_error_phase(slot), !x->cancel);
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
     * last reference to a closed pool: hold one until we are done here. */
    c->refs++;
    rx_post_locked(x, RX_EV_DONE | RX_EV_RELEASED);
    pthread_mutex_unlock(&eng->lock);
    rx_engine_start_queued(eng, c);
    pthread_mutex_lock(&eng->lock);
    rx_async_pool_unref(c);
    pthread_mutex_unlock(&eng->lock);
}

/* Engine lock held: the transfer's slot goes back to its pool. */
static void rx_xfer_recycle_slot_locked(rx_xfer *x)
{
    rx_slot *slot = x->slot;
    rx_async_pool *c = x->pool;
    x->slot = NULL;
    if (slot != NULL) {
        slot->owner = NULL;
        rx_slot_clear_buffers(slot);
        if (c->closed || !rx_pool_keep(&c->slots, slot)) {
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

/* Engine lock held: give back the transfer's slot, port and pool. */
static void rx_xfer_release_locked(rx_xfer *x)
{
    rx_async_pool *c = x->pool;
    rx_xfer_recycle_slot_locked(x);
    if (x->port) {
        rx_port_unref_locked(x->port);
        x->port = NULL;
    }
    rx_async_pool_unref(c);
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

#endif
