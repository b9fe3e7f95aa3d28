/* easy.h: the slot, one libcurl easy handle and what its callbacks fill.
 *
 * A slot is an easy handle, the C buffers its callbacks fill (header block,
 * body, a streamed request body) and what the callbacks learn (status,
 * phase, flags). Both drivers use it: the sync one (sync.h) gives each slot
 * a private multi handle, the async one (loop.h) adds it to the engine
 * thread's multi. Nothing here touches Python: the callbacks never do, and
 * the sync caller releases the GIL around the transfer. Python objects a
 * driver keeps with a slot (the sync header list, the body) are kept by
 * that driver (sync_types.h), not here.
 *
 * Why a multi handle even for a sync transfer, instead of
 * curl_easy_perform(): requests' read timeout is an inactivity timeout (no
 * byte for N seconds), which libcurl does not offer; driving the transfer
 * ourselves lets us watch the time since the last byte, stop at the end of
 * the headers for stream=True, and pull the body chunk by chunk.
 * curl_easy_perform() runs this very loop internally.
 */
#ifndef RX_EASY_H
#define RX_EASY_H

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>

#include "buffer.h"
#include "process.h"
#include "share.h"

/* How far the exchange got: tells a connect failure from a read failure and a
 * broken body from a broken connection. */
enum rx_phase {
    RX_PHASE_CONNECT = 0, /* no connection yet */
    RX_PHASE_WAIT = 1,    /* request being sent or waiting for the response */
    RX_PHASE_BODY = 2,    /* final headers received */
};

/* How much libcurl reads from a socket at once. */
#define RX_READ_BUFFER_BYTES (256L * 1024)
/* ... and for transfers not expected to be large (libcurl's default). */
#define RX_READ_BUFFER_SMALL (16L * 1024)
/* How much of a large request body libcurl sends at once (its default,
 * 64 KiB, for the others); like the read buffer, allocated per transfer. */
#define RX_UPLOAD_BUFFER_BYTES (512L * 1024)
#define RX_UPLOAD_BUFFER_SMALL (64L * 1024)

/* A response body larger than this makes the slot's next transfer, and a
 * stream, read RX_READ_BUFFER_BYTES at a time. */
#define RX_LARGE_BODY_BYTES (64 * 1024)

/* A whole (not streamed) body gets its announced Content-Length in one
 * allocation, up to this much; a larger one grows as it arrives. */
#define RX_BODY_PRESIZE_MAX ((curl_off_t)64 * 1024 * 1024)

/* Body buffers up to this size stay with their slot for the next transfer.
 * Giving a 1 MB buffer back after every response makes the allocator return
 * the memory to the kernel and fault it in again, page by page, on the next
 * response, which costs more than the copying itself. */
#define RX_BODY_KEEP_BYTES ((size_t)1024 * 1024)

/* libcurl 8.6+ refuses a header block over 300 KiB with CURLE_TOO_LARGE
 * (CURL_MAX_HTTP_HEADER); 7.88 has neither the code nor that message. */
#if LIBCURL_VERSION_NUM >= 0x080600
#define RX_CURLE_TOO_LARGE CURLE_TOO_LARGE
#else
#define RX_CURLE_TOO_LARGE 100
#endif
#define RX_MAX_HEADER_BLOCK_KIB 300

/* Header blocks and request-body buffers up to this size are kept. */
#define RX_SMALL_KEEP_BYTES ((size_t)256 * 1024)

/* Idle connections a sync slot's private multi may keep (its own pool:
 * share.h); libcurl's default, 4 per running transfer, would keep a thread
 * that talks to many hosts in turn from reusing its connections. */
#define RX_SLOT_MAX_IDLE_CONNECTIONS 256L

/* A streamed body's reader on another thread is woken once per engine turn
 * with new bytes, but not while more of an HTTP/1 body waits in the socket
 * and less than this is buffered: a fast download reaches the reader in
 * pieces of this size instead of one per socket read (libcurl hands a read
 * over 16 KiB at a time), while a lone event is handed over at once. */
#define RX_WAKE_BYTES (256 * 1024)

/* A streamed body buffered beyond this pauses the transfer until it is read
 * (as does a full lent buffer, see rx_slot.lent). */
#define RX_STREAM_PAUSE_BYTES (1024 * 1024)

/* A streamed request body fed from another thread (async engine): the
 * producer stops once this much waits for libcurl ... */
#define RX_UPLOAD_HIGH_BYTES (1024 * 1024)
/* ... and is asked for more when less than this is left. */
#define RX_UPLOAD_LOW_BYTES (256 * 1024)

typedef struct {
    const char *method;
    const char *url;
    struct curl_slist *headers;
    const char *body;        /* NULL: no request body */
    curl_off_t body_len;     /* for a streamed body: its length, or -1 (chunked) */
    int upload_stream;       /* the body is fed chunk by chunk (rx_slot_feed) */
    long connect_timeout_ms; /* 0: libcurl's default */
    int64_t read_timeout_us; /* 0: wait forever */
    long total_timeout_ms;   /* the whole transfer (a call's deadline); 0: none */
    int stream;
    int64_t queue_us; /* how long it waited for a connection slot */
} rx_request;

typedef struct {
    long http_version; /* CURL_HTTP_VERSION_* */
    int verify;
    const char *ca_info;
    const char *ca_path;
    const char *cert;
    const char *key;
    const char *proxy;       /* "" means no proxy, never the environment's */
    int decode;              /* undo Content-Encoding (requests); 0: bytes as sent (httpx) */
    const char *interface;   /* local address to bind ("host!1.2.3.4"), or NULL */
    const char *unix_socket; /* connect to this Unix socket instead, or NULL */
    int resend_unsafe;       /* let libcurl re-send any method on a stale connection */
} rx_settings;

/* What a slot tells its owner from inside libcurl's callbacks (async engine). */
enum rx_notice {
    RX_NOTICE_HEADERS = 1, /* the final header block is complete */
    RX_NOTICE_BODY = 2,    /* body bytes were appended */
    RX_NOTICE_UPLOAD = 3,  /* a streamed request body runs low */
};

typedef struct rx_slot rx_slot;
struct rx_stats; /* stats.h */
typedef void (*rx_notify_fn)(rx_slot *slot, enum rx_notice notice);

struct rx_slot {
    CURL *easy;
    CURLM *multi; /* NULL for slots driven by the async engine's multi */
    rx_share *share;
    rx_notify_fn notify;   /* NULL on the sync path */
    void *owner;           /* the async transfer using this slot */
    uint64_t settings_id;  /* the Settings applied last (their id), 0: none */
    pthread_mutex_t *lock; /* guards body/paused and up/up_wanted across threads (async) */
    struct rx_slot *next;  /* free list link */
    rx_buffer head;        /* header block of the latest response */
    rx_buffer body;
    /* stream=True: memory a reader lent (the inside of a bytes object it
     * owns, never freed or grown here). The body callback fills it before
     * ``body``, which holds only what did not fit: its bytes come after. */
    rx_buffer lent;
    char errbuf[CURL_ERROR_SIZE];
    char note[160];            /* our own diagnosis; libcurl may overwrite errbuf */
    int status;                /* status of the latest status line */
    int headers_done;          /* the final (non-1xx) header block is complete */
    int http1;                 /* the response is HTTP/1.x: its connection carries nothing else */
    int sets_cookie;           /* the final header block has a Set-Cookie field */
    int length_conflict;       /* two Content-Length fields that disagree */
    int length_overflow;       /* a Content-Length beyond 2^63 - 1 */
    curl_off_t content_length; /* the first Content-Length seen, or -1 */
    size_t body_total;         /* body bytes received by this transfer */
    long read_buffer;          /* the CURLOPT_BUFFERSIZE set on the handle */
    long upload_buffer;        /* the CURLOPT_UPLOAD_BUFFERSIZE set on the handle */
    int phase;
    int attached; /* added to the multi handle */
    int done;
    int paused;
    int stream;
    int stop_at_headers; /* HEAD with a body: no response body will be read */
    CURLcode result;
    int64_t last_activity_us;
    int64_t tick_at_us; /* return to the caller by then, to let it check signals */
    int ticked;
    int64_t read_timeout_us;
    curl_off_t uploaded;    /* upload progress seen at the last timeout check */
    curl_off_t up_declared; /* a streamed body's announced length, or -1 */
    curl_off_t up_sent;
    rx_buffer up; /* streamed request body not yet taken by libcurl */
    size_t up_pos;
    int up_eof;    /* the body's producer is exhausted */
    int up_wanted; /* libcurl paused the upload for want of data */
    /* libcurl re-sends a request whose reused connection died before any
     * response byte (every send of it calls rx_on_prereq): allowed for the
     * idempotent methods, refused for the others unless the settings allow */
    long total_timeout_ms; /* the CURLOPT_TIMEOUT_MS set on the handle */
    int sends;             /* rx_on_prereq calls of this transfer */
    int resend_unsafe;     /* from the settings applied last */
    int may_resend;        /* this request may be sent again */
    int resent;            /* it was */
    int resend_refused;    /* it would have been, and was stopped instead */
    long http_version;     /* CURLOPT_HTTP_VERSION of the settings applied last */
    long version_set;      /* CURLOPT_HTTP_VERSION on the handle (rx_slot_start) */
    /* statistics (stats.h): the pool's, or NULL; the origin index of the
     * transfer in flight (-1: none); its wait for a connection slot */
    struct rx_stats *stats;
    int stats_origin;
    const char *stats_method; /* a static string (rx_stats_method) */
    /* the timings of a finished transfer, read once (rx_slot_keep_timings) */
    int timings_kept;
    double kept_timings[8];
    int64_t queue_us;
};

static int64_t rx_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*** libcurl callbacks: C only, never Python ***/

static size_t rx_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    rx_slot *slot = userp;
    size_t len = size * nmemb;
    slot->last_activity_us = rx_now_us();
    if (slot->headers_done && slot->status >= 200) {
        return len; /* trailer fields after a chunked body: not response headers */
    }
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new response begins (after a 1xx): keep only the latest block */
        slot->head.len = 0;
        slot->headers_done = 0;
        slot->sets_cookie = 0;
        slot->length_conflict = 0;
        slot->length_overflow = 0;
        slot->content_length = -1;
        slot->status = 0;
        slot->http1 = len > 6 && data[5] == '1';
        const char *p = memchr(data, ' ', len);
        if (p != NULL && (size_t)(p - data) + 4 <= len) {
            int code = 0;
            for (int i = 1; i <= 3 && p[i] >= '0' && p[i] <= '9'; i++) {
                code = code * 10 + (p[i] - '0');
            }
            slot->status = code;
        }
    }
    if (len > 11 && (data[0] | 0x20) == 's' && strncasecmp(data, "set-cookie:", 11) == 0) {
        slot->sets_cookie = 1; /* spares Python a search of every header block */
    } else if (len > 15 && (data[0] | 0x20) == 'c' &&
               strncasecmp(data, "content-length:", 15) == 0) {
        errno = 0;
        curl_off_t value = (curl_off_t)strtoll(data + 15, NULL, 10);
        if (errno == ERANGE) {
            slot->length_overflow = 1; /* libcurl ignores such a length (see rx_slot_outcome) */
        }
        if (slot->content_length >= 0 && value != slot->content_length) {
            slot->length_conflict = 1; /* requests refuses such a response */
        }
        slot->content_length = value;
    }
    if (rx_buffer_append(&slot->head, data, len) < 0) {
        return 0; /* libcurl reports CURLE_WRITE_ERROR */
    }
    if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
        if (slot->status >= 200 || slot->status == 0) {
            slot->headers_done = 1;
            slot->phase = RX_PHASE_BODY;
            if (slot->notify != NULL) {
                slot->notify(slot, RX_NOTICE_HEADERS);
            }
        }
    }
    return len;
}

/* First bytes of a whole body: room for all of it at once, when announced. */
static void rx_presize_body(rx_slot *slot)
{
    if (slot->content_length > 0 && slot->content_length <= RX_BODY_PRESIZE_MAX) {
        /* A power of two, as growing by doubling would reach: glibc raises
         * its mmap and trim thresholds to the largest block freed, and an
         * exact-size block of a large body left them low enough that every
         * response gave its memory back to the kernel and faulted it in. */
        size_t want = 1024;
        while (want < (size_t)slot->content_length) {
            want *= 2;
        }
        /* on failure the buffer grows as the bytes come, as without this */
        (void)rx_buffer_reserve(&slot->body, want);
    }
}

/* More of an HTTP/1 response waits in its socket: libcurl reads it as soon
 * as we return. (On HTTP/2 the bytes may belong to other streams.) */
static int rx_more_to_read(rx_slot *slot)
{
    curl_socket_t sock = CURL_SOCKET_BAD;
    int pending = 0;
    return slot->http1 && curl_easy_getinfo(slot->easy, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK &&
           sock != CURL_SOCKET_BAD && ioctl(sock, FIONREAD, &pending) == 0 && pending > 0;
}

/* Between transfers: forget the buffered bytes, keep modest allocations. */
static void rx_slot_clear_buffers(rx_slot *slot)
{
    rx_buffer_clear(&slot->head, RX_SMALL_KEEP_BYTES);
    rx_buffer_clear(&slot->body, RX_BODY_KEEP_BYTES);
    rx_buffer_clear(&slot->up, RX_SMALL_KEEP_BYTES);
    slot->lent = (rx_buffer){0};
}

/* A stream's body bytes that arrived and are not yet read. */
static size_t rx_slot_buffered(const rx_slot *slot)
{
    return slot->lent.len + slot->body.len;
}

/* Copy what fits of a stream's bytes into the lent buffer (only while
 * nothing waits in ``body``, so that the order holds); returns how many. */
static size_t rx_fill_lent(rx_slot *slot, const char *data, size_t len)
{
    size_t room = slot->lent.cap - slot->lent.len;
    if (slot->body.len > 0 || room == 0) {
        return 0;
    }
    size_t n = len < room ? len : room;
    memcpy(slot->lent.data + slot->lent.len, data, n);
    slot->lent.len += n;
    return n;
}

static int rx_stream_full(const rx_slot *slot)
{
    return rx_slot_buffered(slot) >= RX_STREAM_PAUSE_BYTES ||
           (slot->lent.cap > 0 && slot->lent.len == slot->lent.cap);
}

static size_t rx_on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    rx_slot *slot = userp;
    size_t len = size * nmemb;
    size_t result = len;
    int pause_now = 0;
    slot->last_activity_us = rx_now_us();
    if (slot->lock != NULL) {
        pthread_mutex_lock(slot->lock);
    }
    if (slot->stream && !slot->paused && rx_stream_full(slot)) {
        /* back-pressure: stop reading the socket until the consumer drains
         * the buffer and we unpause. HTTP/1: keep these bytes and pause from
         * here, so libcurl need not copy aside the rest of what it read (it
         * hands that over too, in further calls); HTTP/2: libcurl keeps this
         * chunk. */
        slot->paused = 1;
        if (slot->http1) {
            pause_now = 1;
        } else {
            result = CURL_WRITEFUNC_PAUSE;
        }
    }
    if (result == len) {
        size_t lent = slot->stream ? rx_fill_lent(slot, data, len) : 0;
        if (slot->body.len == 0 && !slot->stream) {
            rx_presize_body(slot);
        }
        if (rx_buffer_append(&slot->body, data + lent, len - lent) < 0) {
            result = 0;
        }
        slot->body_total += len;
    }
    if (slot->lock != NULL) {
        pthread_mutex_unlock(slot->lock);
    }
    if (pause_now) {
        curl_easy_pause(slot->easy, CURLPAUSE_RECV);
    }
    if (result == len && slot->notify != NULL) {
        slot->notify(slot, RX_NOTICE_BODY);
    }
    return result;
}

/* A streamed request body: hand over what the producer gave us; with nothing
 * buffered, pause the upload until the producer has fed more. On the sync
 * path rx_slot_run() then returns and the caller (holding the GIL, outside
 * any callback) fetches the next chunk; on the async path the event loop
 * feeds slot->up from its own thread (under slot->lock) and is told when the
 * buffer runs low. */
static size_t rx_on_read(char *dest, size_t size, size_t nitems, void *userp)
{
    rx_slot *slot = userp;
    size_t room = size * nitems, result;
    int low = 0;
    if (slot->lock != NULL) {
        pthread_mutex_lock(slot->lock);
    }
    size_t avail = slot->up.len - slot->up_pos;
    if (avail > 0) {
        size_t n = avail < room ? avail : room;
        memcpy(dest, slot->up.data + slot->up_pos, n);
        slot->up_pos += n;
        slot->up_sent += (curl_off_t)n;
        if (slot->up_pos == slot->up.len) {
            slot->up.len = 0;
            slot->up_pos = 0;
        }
        slot->last_activity_us = rx_now_us();
        low = !slot->up_eof && slot->up.len - slot->up_pos < RX_UPLOAD_LOW_BYTES;
        result = n;
    } else if (slot->up_eof) {
        result = 0;
        if (slot->up_declared >= 0 && slot->up_sent < slot->up_declared) {
            /* the server would wait for the rest for ever */
            snprintf(slot->note, sizeof(slot->note),
                     "the request body ended after %lld of its %lld bytes",
                     (long long)slot->up_sent, (long long)slot->up_declared);
            result = CURL_READFUNC_ABORT;
        }
    } else {
        slot->up_wanted = 1;
        low = 1;
        result = CURL_READFUNC_PAUSE;
    }
    if (slot->lock != NULL) {
        pthread_mutex_unlock(slot->lock);
    }
    if (low && slot->notify != NULL) {
        slot->notify(slot, RX_NOTICE_UPLOAD);
    }
    return result;
}

/* Add a chunk of a streamed body and resume the upload. Returns 0 or -1 (memory). */
static int rx_slot_feed(rx_slot *slot, const char *data, size_t len, int eof)
{
    if (len > 0 && rx_buffer_append(&slot->up, data, len) < 0) {
        return -1;
    }
    if (eof) {
        slot->up_eof = 1;
    }
    if (slot->up_wanted && (len > 0 || eof)) {
        slot->up_wanted = 0;
        slot->last_activity_us = rx_now_us(); /* the wait was ours, not the server's */
        curl_easy_pause(slot->easy, CURLPAUSE_CONT);
    }
    return 0;
}

/* Called once the connection is ready and the request is about to be sent. */
static int rx_on_prereq(void *userp, char *conn_primary_ip, char *conn_local_ip,
                        int conn_primary_port, int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    rx_slot *slot = userp;
    if (++slot->sends > 1) {
        /* requestx follows redirects itself: a second send is libcurl's
         * re-send on a fresh connection */
        if (!slot->may_resend) {
            slot->resend_refused = 1;
            snprintf(slot->note, sizeof(slot->note), "%s",
                     "the connection closed before any response, and the request is not "
                     "sent again: it is not idempotent (or its body cannot be replayed)");
            return CURL_PREREQFUNC_ABORT;
        }
        slot->resent = 1;
    }
    slot->phase = RX_PHASE_WAIT;
    slot->last_activity_us = rx_now_us();
    return CURL_PREREQFUNC_OK;
}

/* The methods RFC 9110 calls idempotent: a re-send cannot do harm twice. */
static int rx_method_idempotent(const char *method)
{
    static const char *const names[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(method, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/*** slot life cycle ***/

static void rx_slot_free(rx_slot *slot)
{
    if (slot == NULL) {
        return;
    }
    if (slot->attached && slot->multi != NULL) {
        curl_multi_remove_handle(slot->multi, slot->easy);
    }
    if (slot->easy) {
        curl_easy_cleanup(slot->easy);
    }
    if (slot->share != NULL) {
        slot->share->slots--;
        if (slot->share->detached && slot->share->slots == 0) {
            rx_share_free(slot->share);
        }
    }
    if (slot->multi) {
        curl_multi_cleanup(slot->multi);
    }
    rx_buffer_free(&slot->head);
    rx_buffer_free(&slot->body);
    rx_buffer_free(&slot->up);
    free(slot);
}

/* The options that never change for the life of the handle. NULL on failure.
 * Sync slots get a private multi handle; async ones are driven by the engine's.
 * ``size``: the allocation, at least sizeof(rx_slot); a driver that keeps
 * more with each slot puts the rx_slot first in a larger struct. */
static rx_slot *rx_slot_new(rx_share *share, int with_multi, size_t size)
{
    rx_slot *slot = calloc(1, size);
    if (slot == NULL) {
        return NULL;
    }
    slot->easy = curl_easy_init();
    slot->multi = with_multi ? curl_multi_init() : NULL;
    if (slot->easy == NULL || (with_multi && slot->multi == NULL)) {
        rx_slot_free(slot);
        return NULL;
    }
    if (slot->multi != NULL) {
        curl_multi_setopt(slot->multi, CURLMOPT_MAXCONNECTS, RX_SLOT_MAX_IDLE_CONNECTIONS);
    }
    CURL *e = slot->easy;
    curl_easy_setopt(e, CURLOPT_SHARE, share->handle);
    slot->share = share;
    share->slots++;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, rx_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, slot);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rx_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, slot);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, rx_on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, slot);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, rx_on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, slot);
    /* redirects are followed by the session layer, hop by hop */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    slot->read_buffer = RX_READ_BUFFER_SMALL;     /* libcurl's default */
    slot->upload_buffer = RX_UPLOAD_BUFFER_SMALL; /* libcurl's default */
    /* proxies are chosen in Python (trust_env, NO_PROXY): libcurl must not
     * read http_proxy or no_proxy from the environment on its own */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    slot->http_version = slot->version_set = CURL_HTTP_VERSION_1_1;
    return slot;
}

/* libcurl before 8.23.0 frees a transfer that nghttp2 still refers to when a
 * server resets an HTTP/2 stream that uploads a body with REFUSED_STREAM or
 * HTTP_1_1_REQUIRED, and libcurl retries it (CVE-2026-92392, a use-after-free
 * a hostile server controls). Until the bundled libcurl can be 8.23, a request
 * with a body that would negotiate HTTP/2 by ALPN asks for HTTP/1.1 instead.
 * Prior knowledge is left alone (the server speaks nothing else, and the user
 * asked for it), as is HTTP/3 (which TCP fallback may still take to HTTP/2:
 * docs/security.md). */
static long rx_version_for(long version, int has_body)
{
    if (has_body && version == CURL_HTTP_VERSION_2TLS && rx_h2_uploads_unsafe) {
        return CURL_HTTP_VERSION_1_1;
    }
    return version;
}

/* Apply the options that belong to a session's configuration. */
static void rx_slot_apply_settings(rx_slot *slot, const rx_settings *st)
{
    CURL *e = slot->easy;
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, st->http_version);
    slot->http_version = slot->version_set = st->http_version;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, st->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, st->verify ? 2L : 0L);
    if (st->ca_info == NULL && st->ca_path == NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, rx_default_ca_info);
        curl_easy_setopt(e, CURLOPT_CAPATH, rx_default_ca_path);
    } else {
        curl_easy_setopt(e, CURLOPT_CAINFO, st->ca_info);
        curl_easy_setopt(e, CURLOPT_CAPATH, st->ca_path);
    }
    curl_easy_setopt(e, CURLOPT_SSLCERT, st->cert);
    curl_easy_setopt(e, CURLOPT_SSLKEY, st->key);
    curl_easy_setopt(e, CURLOPT_PROXY, st->proxy ? st->proxy : "");
    /* "" = every encoding this libcurl decodes; the caller's Accept-Encoding
     * header, when given, replaces the one libcurl would send. NULL: libcurl
     * neither asks for nor undoes any encoding. */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, st->decode ? "" : NULL);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, st->decode ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_INTERFACE, st->interface);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, st->unix_socket);
    slot->resend_unsafe = st->resend_unsafe;
}

/* A buffer-size option, set only when it changes (``*current`` is what the
 * handle has). */
static void rx_slot_set_size(CURL *e, CURLoption option, long *current, long want)
{
    if (want != *current && curl_easy_setopt(e, option, want) == CURLE_OK) {
        *current = want;
    }
}

/* Per-request options; then, for a sync slot, hand the handle to its private
 * multi (the async engine adds it to its own). Returns a CURLcode. */
static CURLcode rx_slot_start(rx_slot *slot, const rx_request *req)
{
    CURL *e = slot->easy;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, req->url);
    if (rc != CURLE_OK) {
        return rc;
    }
    /* How much libcurl reads from the socket at once. libcurl 7.88 allocates
     * that buffer for every transfer and frees it after: big reads take a
     * large body in fewer callbacks and system calls, but cost small ones
     * a large allocation each. So: big for a stream, or when the slot's last
     * body was large (the same kind of request, likely). */
    rx_slot_set_size(e, CURLOPT_BUFFERSIZE, &slot->read_buffer,
                     (req->stream || slot->body_total > RX_LARGE_BODY_BYTES)
                         ? RX_READ_BUFFER_BYTES
                         : RX_READ_BUFFER_SMALL);
    slot->body_total = 0;
    /* A large request body goes out in fewer, larger send() calls. */
    rx_slot_set_size(e, CURLOPT_UPLOAD_BUFFERSIZE, &slot->upload_buffer,
                     (req->upload_stream || req->body_len > RX_UPLOAD_BUFFER_SMALL)
                         ? RX_UPLOAD_BUFFER_BYTES
                         : RX_UPLOAD_BUFFER_SMALL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
    /* HEAD is NOBODY (no response body is read). libcurl cannot send a body
     * with it, so a HEAD that has one goes out as a custom "HEAD" request and
     * rx_slot_run() ends the exchange at the end of the response headers. */
    int has_body = req->body != NULL || req->upload_stream;
    long version = rx_version_for(slot->http_version, has_body);
    if (version != slot->version_set) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version);
        slot->version_set = version;
    }
    int head = strcmp(req->method, "HEAD") == 0;
    int plain = strcmp(req->method, has_body ? "POST" : "GET") == 0;
    slot->stop_at_headers = head && has_body;
    curl_easy_setopt(e, CURLOPT_NOBODY, (head && !has_body) ? 1L : 0L);
    if (req->upload_stream) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL); /* body from rx_on_read */
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, req->body_len);
    } else if (req->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    } else if (!head) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (plain || (head && !has_body)) ? NULL : req->method);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    if (slot->total_timeout_ms != req->total_timeout_ms) { /* set only when it changes */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->total_timeout_ms);
        slot->total_timeout_ms = req->total_timeout_ms;
    }
    slot->sends = 0;
    slot->resent = 0;
    slot->resend_refused = 0;
    /* a streamed body cannot be sent again: libcurl would fail the rewind */
    slot->may_resend =
        !req->upload_stream && (slot->resend_unsafe || rx_method_idempotent(req->method));

    slot->head.len = 0;
    slot->body.len = 0;
    slot->lent = (rx_buffer){0};
    slot->errbuf[0] = '\0';
    slot->note[0] = '\0';
    slot->status = 0;
    slot->headers_done = 0;
    slot->sets_cookie = 0;
    slot->phase = RX_PHASE_CONNECT;
    slot->done = 0;
    slot->paused = 0;
    slot->stream = req->stream;
    slot->result = CURLE_OK;
    slot->read_timeout_us = req->read_timeout_us;
    slot->last_activity_us = rx_now_us();
    slot->uploaded = 0;
    slot->up.len = 0;
    slot->up_pos = 0;
    slot->up_eof = 0;
    slot->up_wanted = 0;
    slot->up_sent = 0;
    slot->up_declared = req->upload_stream ? req->body_len : -1;
    slot->length_conflict = 0;
    slot->length_overflow = 0;
    slot->content_length = -1;
    slot->queue_us = req->queue_us;
    slot->timings_kept = 0;

    if (slot->multi == NULL) {
        return CURLE_OK; /* the async engine adds it to its own multi */
    }
    if (curl_multi_add_handle(slot->multi, e) != CURLM_OK) {
        return CURLE_OUT_OF_MEMORY;
    }
    slot->attached = 1;
    return CURLE_OK;
}

/* Take the handle off its multi: after completion this keeps the connection
 * for reuse; before completion it aborts the transfer and libcurl closes the
 * connection, so an abandoned stream never poisons the pool. */
static void rx_slot_stop(rx_slot *slot)
{
    if (slot->attached && slot->multi != NULL) {
        curl_multi_remove_handle(slot->multi, slot->easy);
        slot->attached = 0;
    }
    rx_slot_clear_buffers(slot);
}

/*** the read timeout: one rule for both drivers ***/

/* No read timeout runs while connecting (the connect timeout does) or while
 * the transfer waits for our side: a slow consumer of the response body
 * (paused) or a slow producer of the request body (up_wanted). */
static int rx_read_clock_stopped(const rx_slot *slot)
{
    return slot->phase == RX_PHASE_CONNECT || slot->paused || slot->up_wanted;
}

/* When the transfer times out for want of data, given its read timeout
 * (0: no limit); 0 while no read timeout runs. */
static int64_t rx_read_deadline(const rx_slot *slot, int64_t read_timeout_us)
{
    if (read_timeout_us <= 0 || rx_read_clock_stopped(slot)) {
        return 0;
    }
    return slot->last_activity_us + read_timeout_us;
}

/* The transfer's read timeout has passed: say so in its message. */
static void rx_slot_note_read_timeout(rx_slot *slot, int64_t read_timeout_us)
{
    snprintf(slot->note, sizeof(slot->note), "no data received for %.3f seconds",
             read_timeout_us / 1e6);
}

/* The result of a finished transfer, as requestx reports it: where libcurl 8
 * answers otherwise than 7.88 did, requestx keeps one answer for both. */
static CURLcode rx_slot_outcome(rx_slot *slot, CURLcode result)
{
    if (result == CURLE_WEIRD_SERVER_REPLY && slot->content_length >= 0 &&
        strncmp(slot->errbuf, "Invalid Content-Length", 22) == 0) {
        /* libcurl 8 refuses a second Content-Length that disagrees before the
         * header callback sees it (7.88 took the first). requestx reports
         * that case itself, as a response with RX_FLAG_LENGTH_CONFLICT, so
         * the faces raise what requests and httpx raise. */
        slot->length_conflict = 1;
        return CURLE_OK;
    }
    if (result == CURLE_OK && slot->length_overflow) {
        /* libcurl drops a Content-Length it cannot represent and reads to the
         * connection's end: whatever arrived is shorter than announced */
        snprintf(slot->note, sizeof(slot->note),
                 "the response announced a Content-Length larger than any body can be, and "
                 "the connection closed after %zu bytes",
                 slot->body_total);
        return CURLE_PARTIAL_FILE;
    }
    if (!slot->headers_done && (result == RX_CURLE_TOO_LARGE ||
                                (result == CURLE_RECV_ERROR &&
                                 strncmp(slot->errbuf, "Too large response headers", 26) == 0))) {
        /* one field over the limit is CURLE_TOO_LARGE, many fields that add
         * up to it CURLE_RECV_ERROR: both are the same refusal */
        snprintf(slot->note, sizeof(slot->note),
                 "the response's header block is larger than the %d KiB libcurl accepts",
                 RX_MAX_HEADER_BLOCK_KIB);
        return RX_CURLE_TOO_LARGE;
    }
    if (result == CURLE_OK && !slot->headers_done) {
        /* A header block cut off by the connection's end: libcurl 8 (from
         * about 8.10) ends it with CURLE_OK, its client writers seeing the
         * end of the stream only once the headers are done; 7.88 said
         * CURLE_PARTIAL_FILE, and no complete response did arrive. */
        snprintf(slot->note, sizeof(slot->note), "%s",
                 "the connection closed before the end of the response's header block");
        return CURLE_PARTIAL_FILE;
    }
    return result;
}

/* The words for a failed exchange: our own diagnosis, else libcurl's. */
static const char *rx_slot_message(const rx_slot *slot, CURLcode rc)
{
    return slot->note[0] ? slot->note : slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(rc);
}

/* The phase an error is reported in: once a status line has arrived, a
 * failure is one of the response (requests, too, has "read the headers" by
 * then, even from a header block cut off by the end of the connection). */
static int rx_slot_error_phase(const rx_slot *slot)
{
    if (slot->phase == RX_PHASE_WAIT && slot->status >= 200) {
        return RX_PHASE_BODY;
    }
    return slot->phase;
}

/* Bit flags about a response that Python acts on (the result's last item, ``flags``). */
#define RX_FLAG_SETS_COOKIE 1
#define RX_FLAG_LENGTH_CONFLICT 2
#define RX_FLAG_RESENT 4 /* libcurl sent the request again on a fresh connection */

static int rx_slot_flags(const rx_slot *slot)
{
    return (slot->sets_cookie ? RX_FLAG_SETS_COOKIE : 0) |
           (slot->length_conflict ? RX_FLAG_LENGTH_CONFLICT : 0) |
           (slot->resent ? RX_FLAG_RESENT : 0);
}

/* CURL_HTTP_VERSION_* to 10, 11, 20, 30 as requests' raw.version reports. */
static int rx_slot_http_version(rx_slot *slot)
{
    long v = 0;
    curl_easy_getinfo(slot->easy, CURLINFO_HTTP_VERSION, &v);
    switch (v) {
    case CURL_HTTP_VERSION_1_0:
        return 10;
    case CURL_HTTP_VERSION_2_0:
        return 20;
    case CURL_HTTP_VERSION_3:
        return 30;
    default:
        return 11;
    }
}

/* libcurl's phase timings in seconds since the transfer started:
 * namelookup, connect, appconnect, pretransfer, starttransfer, total; then
 * the wait for a connection slot before it started (seconds) and the
 * connections it opened (0: it reused one). */
#define RX_TIMINGS 8
static void rx_slot_timings(rx_slot *slot, double out[RX_TIMINGS])
{
    if (slot->timings_kept) {
        memcpy(out, slot->kept_timings, sizeof(slot->kept_timings));
        return;
    }
    static const CURLINFO infos[6] = {
        CURLINFO_NAMELOOKUP_TIME_T,  CURLINFO_CONNECT_TIME_T,       CURLINFO_APPCONNECT_TIME_T,
        CURLINFO_PRETRANSFER_TIME_T, CURLINFO_STARTTRANSFER_TIME_T, CURLINFO_TOTAL_TIME_T,
    };
    for (int i = 0; i < 6; i++) {
        curl_off_t us = 0;
        curl_easy_getinfo(slot->easy, infos[i], &us);
        out[i] = (double)us / 1e6;
    }
    long connects = 0;
    curl_easy_getinfo(slot->easy, CURLINFO_NUM_CONNECTS, &connects);
    out[6] = (double)slot->queue_us / 1e6;
    out[7] = (double)connects;
}

/* The transfer is over: its timings no longer change, so the next readers
 * (the statistics, then the result) share one reading of them. */
static void rx_slot_keep_timings(rx_slot *slot)
{
    rx_slot_timings(slot, slot->kept_timings);
    slot->timings_kept = 1;
}

#endif