/* ws.h: one WebSocket connection, frames in C, whole messages for Python.
 *
 * A WebSocket owns a dedicated easy handle opened with CONNECT_ONLY=2: the
 * handshake is driven on a private multi handle (GIL released, open_timeout
 * ours, signals checked), after which libcurl keeps the upgraded connection
 * and its framing (curl_ws_recv, curl_ws_send; libcurl masks every frame it
 * sends with a fresh key). Everything after the handshake is non-blocking
 * and happens under the object's mutex with the GIL released:
 *
 *   rx_ws_pump_in   reads every frame available, reassembles fragments into
 *                   whole messages (a C list), answers pings, notes pongs and
 *                   the close frame; stops at a byte budget, at EAGAIN, or
 *                   when Python holds enough unread messages.
 *   rx_ws_pump_out  writes queued frames in order until EAGAIN. A frame that
 *                   libcurl took in part stays first: libcurl requires the
 *                   rest of it before anything else, so control frames we
 *                   queue (pongs, the close reply) go right after it.
 *
 * Python sees one call per wakeup, not per frame: WebSocket.recv(timeout)
 * (the sync face) polls the socket itself and returns as soon as at least
 * one event is ready, with every event that is; WebSocket.drain() (the async
 * face, called by the event loop's reader) never waits. Both return a list of
 * events, each a tuple:
 *
 *   (1, str)             a text message         (2, bytes)  a binary message
 *   (10, bytes)          a pong's payload
 *   (8, code, reason)    the end of input: the peer's close frame, or ours
 *                        (1009 a message over max_size, 1007 text that is
 *                        not UTF-8, 1002 a protocol error), 1006 for a
 *                        connection that ended without one
 *
 * Pings are answered here (CURLWS_NOAUTOPONG: libcurl's own answer waits
 * for the next frame it returns, which may never come).
 */
#ifndef RX_WS_H
#define RX_WS_H

#include <curl/curl.h>
#include <curl/websockets.h>
#include <poll.h>
#include <pthread.h>

#include "buffer.h"
#include "easy.h"
#include "request.h"
#include "state.h"

/* WebSockets need libcurl 8.14 or later (its WebSocket API is official from
 * 8.11, CURLWS_NOAUTOPONG from 8.14). Against an older libcurl, such as
 * Debian 12's 7.88 (LIBCURL=system, the sdist), the engine still builds:
 * features() has no "websockets" and connect() refuses before sending. */
#if LIBCURL_VERSION_NUM >= 0x080e00
#define RX_WS_BUILT 1
#define rx_curl_ws_recv curl_ws_recv
#define rx_curl_ws_send curl_ws_send
#else
#define RX_WS_BUILT 0
#define CURLWS_NOAUTOPONG (1L << 1)
static CURLcode rx_curl_ws_recv(CURL *easy, void *buffer, size_t buflen, size_t *recv,
                                const struct curl_ws_frame **meta)
{
    (void)easy, (void)buffer, (void)buflen, (void)recv, (void)meta;
    return CURLE_NOT_BUILT_IN;
}
static CURLcode rx_curl_ws_send(CURL *easy, const void *buffer, size_t buflen, size_t *sent,
                                curl_off_t fragsize, unsigned int flags)
{
    (void)easy, (void)buffer, (void)buflen, (void)sent, (void)fragsize, (void)flags;
    return CURLE_NOT_BUILT_IN;
}
#endif

/* Bytes asked of curl_ws_recv at once (written straight into the message). */
#define RX_WS_READ_BYTES (64 * 1024)
/* One drain hands the loop back after this much, to keep other tasks going;
 * the caller is told more may be ready. */
#define RX_WS_DRAIN_BYTES ((size_t)4 * 1024 * 1024)
/* A sync recv() returns to check for signals this often (ms). */
#define RX_WS_TICK_MS 100

enum {
    RX_WS_TEXT = 1,
    RX_WS_BINARY = 2,
    RX_WS_CLOSE = 8,
    RX_WS_PING = 9,
    RX_WS_PONG = 10,
};

/* What drain() tells its caller besides the events. */
enum {
    RX_WS_MORE = 1,        /* stopped at the budget: call again soon */
    RX_WS_OUT_PENDING = 2, /* frames wait for the socket to be writable */
};

/* A whole message (or a frame to send): kind, payload, the next one. */
typedef struct rx_ws_item {
    struct rx_ws_item *next;
    int kind;
    uint64_t seq; /* outgoing: its number, for WebSocket.sent */
    rx_buffer data;
} rx_ws_item;

typedef struct {
    PyObject_HEAD
    CURL *easy;
    CURLM *multi; /* drove the handshake; holds the connection's pool */
    pthread_mutex_t lock;
    struct curl_slist *headers;
    rx_buffer head; /* the handshake's final response head */
    long status;
    char errbuf[CURL_ERROR_SIZE];
    int open; /* the handshake succeeded and the handle is not closed */
    curl_socket_t sock;
    size_t max_size;
    /* input */
    rx_buffer msg; /* the message being reassembled */
    int msg_kind;  /* 0: none yet */
    rx_buffer ctl; /* a control frame being received */
    rx_ws_item *in_first, *in_last;
    int in_done; /* the close event is queued: nothing more is read */
    int close_code;
    char close_reason[128];
    CURLcode failure; /* what ended input abnormally (CURLE_OK: nothing) */
    /* output */
    rx_ws_item *out_first, *out_last;
    size_t out_pos; /* payload bytes of out_first libcurl took */
    int out_started;
    uint64_t out_seq;  /* the last frame queued */
    uint64_t out_done; /* frames up to this one are written */
    int close_sent;
    CURLcode out_failure;
} WebSocketObject;

/* Room for ``n`` more bytes, doubling: a long message grows in O(log n) steps. */
static int rx_ws_reserve(rx_buffer *b, size_t n)
{
    if (b->cap - b->len >= n) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : RX_WS_READ_BYTES;
    while (cap - b->len < n) {
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (data == NULL) {
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static void rx_ws_items_free(rx_ws_item *item)
{
    while (item != NULL) {
        rx_ws_item *next = item->next;
        rx_buffer_free(&item->data);
        free(item);
        item = next;
    }
}

static rx_ws_item *rx_ws_item_new(int kind, const char *data, size_t len)
{
    rx_ws_item *item = calloc(1, sizeof(*item));
    if (item == NULL) {
        return NULL;
    }
    item->kind = kind;
    if (rx_buffer_append(&item->data, data, len) < 0) {
        free(item);
        return NULL;
    }
    return item;
}

static void rx_ws_push_in(WebSocketObject *ws, rx_ws_item *item)
{
    if (ws->in_last != NULL) {
        ws->in_last->next = item;
    } else {
        ws->in_first = item;
    }
    ws->in_last = item;
}

/* Queue an outgoing frame. Control frames go before data frames that have
 * not started (after the one libcurl holds in part, and other control
 * frames), so a pong is not stuck behind a large message. */
static void rx_ws_push_out(WebSocketObject *ws, rx_ws_item *item)
{
    item->seq = ++ws->out_seq;
    int control = item->kind == RX_WS_PING || item->kind == RX_WS_PONG;
    if (!control || ws->out_first == NULL) {
        if (ws->out_last != NULL) {
            ws->out_last->next = item;
        } else {
            ws->out_first = item;
        }
        ws->out_last = item;
        return;
    }
    rx_ws_item **at = &ws->out_first;
    if (ws->out_started) {
        at = &(*at)->next;
    }
    while (*at != NULL && ((*at)->kind == RX_WS_PING || (*at)->kind == RX_WS_PONG)) {
        at = &(*at)->next;
    }
    item->next = *at;
    *at = item;
    if (item->next == NULL) {
        ws->out_last = item;
    }
}

static unsigned int rx_ws_flags(int kind)
{
    switch (kind) {
    case RX_WS_TEXT:
        return CURLWS_TEXT;
    case RX_WS_BINARY:
        return CURLWS_BINARY;
    case RX_WS_CLOSE:
        return CURLWS_CLOSE;
    case RX_WS_PING:
        return CURLWS_PING;
    default:
        return CURLWS_PONG;
    }
}

/* The end of input, once: ``code`` and ``reason`` are what Python is told. */
static void rx_ws_end_input(WebSocketObject *ws, int code, const char *reason, size_t reason_len)
{
    if (ws->in_done) {
        return;
    }
    ws->in_done = 1;
    ws->close_code = code;
    if (reason_len >= sizeof(ws->close_reason)) {
        reason_len = sizeof(ws->close_reason) - 1;
    }
    memcpy(ws->close_reason, reason, reason_len);
    ws->close_reason[reason_len] = '\0';
}

/* Our close frame (code, reason), queued once. 0, or -1 out of memory. */
static int rx_ws_queue_close(WebSocketObject *ws, int code, const char *reason, size_t len)
{
    if (ws->close_sent) {
        return 0;
    }
    char payload[125];
    size_t n = 0;
    if (code != 1005) { /* 1005: "no status", sent as an empty close frame */
        payload[0] = (char)((code >> 8) & 0xff);
        payload[1] = (char)(code & 0xff);
        n = 2;
        if (len > sizeof(payload) - 2) {
            len = sizeof(payload) - 2;
        }
        memcpy(payload + 2, reason, len);
        n += len;
    }
    rx_ws_item *item = rx_ws_item_new(RX_WS_CLOSE, payload, n);
    if (item == NULL) {
        return -1;
    }
    ws->close_sent = 1;
    rx_ws_push_out(ws, item);
    return 0;
}

/* We end the connection for a reason of ours: tell the peer, tell Python. */
static void rx_ws_fail(WebSocketObject *ws, int code, const char *reason)
{
    (void)rx_ws_queue_close(ws, code, reason, strlen(reason));
    rx_ws_end_input(ws, code, reason, strlen(reason));
}

/* A complete control frame in ws->ctl. */
static void rx_ws_control(WebSocketObject *ws, unsigned int flags)
{
    const char *p = ws->ctl.data ? ws->ctl.data : "";
    size_t n = ws->ctl.len;
    if (flags & CURLWS_PING) {
        rx_ws_item *pong = rx_ws_item_new(RX_WS_PONG, p, n);
        if (pong != NULL && !ws->close_sent) {
            rx_ws_push_out(ws, pong);
        } else {
            rx_ws_items_free(pong);
        }
    } else if (flags & CURLWS_PONG) {
        rx_ws_item *item = rx_ws_item_new(RX_WS_PONG, p, n);
        if (item != NULL) {
            rx_ws_push_in(ws, item);
        }
    } else if (flags & CURLWS_CLOSE) {
        int code = 1005;
        const char *reason = "";
        size_t reason_len = 0;
        if (n >= 2) {
            code = ((unsigned char)p[0] << 8) | (unsigned char)p[1];
            reason = p + 2;
            reason_len = n - 2;
        }
        /* the reply echoes the code (RFC 6455, 5.5.1) */
        (void)rx_ws_queue_close(ws, code, "", 0);
        rx_ws_end_input(ws, code, reason, reason_len);
    }
    ws->ctl.len = 0;
}

/* Read what is available. Call with the lock held and the GIL released.
 * Returns RX_WS_MORE when it stopped at ``budget`` bytes or after ``room``
 * whole messages (what the reader has room for), else 0. */
static int rx_ws_pump_in(WebSocketObject *ws, size_t budget, size_t room)
{
    size_t taken = 0, messages = 0;
    if (ws->easy == NULL) { /* closed by another thread meanwhile */
        rx_ws_end_input(ws, 1006, "", 0);
        return 0;
    }
    while (!ws->in_done) {
        if (taken >= budget || messages >= room) {
            return RX_WS_MORE;
        }
        if (rx_ws_reserve(&ws->msg, RX_WS_READ_BYTES) < 0) {
            rx_ws_fail(ws, 1011, "out of memory");
            return 0;
        }
        size_t room = ws->msg.cap - ws->msg.len;
        if (room > RX_WS_READ_BYTES) {
            room = RX_WS_READ_BYTES;
        }
        char *dest = ws->msg.data + ws->msg.len;
        size_t n = 0;
        const struct curl_ws_frame *meta = NULL;
        CURLcode rc = rx_curl_ws_recv(ws->easy, dest, room, &n, &meta);
        if (rc == CURLE_AGAIN) {
            return 0;
        }
        if (rc != CURLE_OK) {
            /* CURLE_GOT_NOTHING: the peer closed the TCP connection */
            ws->failure = rc;
            ws->close_sent = 1; /* nothing can be sent any more */
            rx_ws_end_input(ws, 1006, "", 0);
            return 0;
        }
        taken += n;
        unsigned int flags = (unsigned int)meta->flags;
        if (flags & (CURLWS_PING | CURLWS_PONG | CURLWS_CLOSE)) {
            if (rx_buffer_append(&ws->ctl, dest, n) < 0) {
                rx_ws_fail(ws, 1011, "out of memory");
                return 0;
            }
            if (meta->bytesleft == 0) {
                rx_ws_control(ws, flags);
            }
            continue;
        }
        int kind = (flags & CURLWS_TEXT) ? RX_WS_TEXT : RX_WS_BINARY;
        if (ws->msg_kind == 0) {
            ws->msg_kind = kind;
        }
        ws->msg.len += n;
        if (ws->msg.len > ws->max_size || (size_t)meta->bytesleft > ws->max_size - ws->msg.len) {
            rx_ws_fail(ws, 1009, "message too big");
            return 0;
        }
        if (meta->bytesleft == 0 && !(flags & CURLWS_CONT)) {
            rx_ws_item *item = calloc(1, sizeof(*item));
            if (item == NULL) {
                rx_ws_fail(ws, 1011, "out of memory");
                return 0;
            }
            item->kind = ws->msg_kind;
            item->data = ws->msg; /* the buffer moves to the message */
            memset(&ws->msg, 0, sizeof(ws->msg));
            ws->msg_kind = 0;
            rx_ws_push_in(ws, item);
            messages++;
        }
    }
    return 0;
}

/* Write queued frames until the socket is full. Lock held, GIL released.
 * Returns RX_WS_OUT_PENDING when frames are left. */
static int rx_ws_pump_out(WebSocketObject *ws)
{
    if (ws->easy == NULL && ws->out_failure == CURLE_OK) {
        ws->out_failure = CURLE_SEND_ERROR; /* closed by another thread meanwhile */
    }
    while (ws->out_first != NULL && ws->out_failure == CURLE_OK) {
        rx_ws_item *item = ws->out_first;
        size_t sent = 0;
        const char *data = item->data.data ? item->data.data : "";
        CURLcode rc = rx_curl_ws_send(ws->easy, data + ws->out_pos, item->data.len - ws->out_pos,
                                      &sent, 0, rx_ws_flags(item->kind));
        if (rc == CURLE_AGAIN) {
            ws->out_started = 1; /* libcurl may hold its head */
            return RX_WS_OUT_PENDING;
        }
        if (rc != CURLE_OK) {
            ws->out_failure = rc;
            break;
        }
        ws->out_pos += sent;
        ws->out_started = 1;
        if (ws->out_pos < item->data.len) {
            continue; /* libcurl took part: the rest next, nothing else */
        }
        ws->out_first = item->next;
        if (ws->out_first == NULL) {
            ws->out_last = NULL;
        }
        ws->out_done = item->seq;
        ws->out_pos = 0;
        ws->out_started = 0;
        item->next = NULL;
        rx_ws_items_free(item);
    }
    if (ws->out_failure != CURLE_OK) {
        /* a broken connection: nothing more will be written */
        ws->out_done = ws->out_seq;
        rx_ws_items_free(ws->out_first);
        ws->out_first = ws->out_last = NULL;
        return 0;
    }
    return ws->out_first != NULL ? RX_WS_OUT_PENDING : 0;
}

/*** Python: events out of the C list ***/

static PyObject *rx_ws_event(WebSocketObject *ws, rx_ws_item *item)
{
    const char *data = item->data.data ? item->data.data : "";
    Py_ssize_t len = (Py_ssize_t)item->data.len;
    PyObject *payload = NULL;
    if (item->kind == RX_WS_TEXT) {
        payload = PyUnicode_DecodeUTF8(data, len, NULL);
        if (payload == NULL) {
            PyErr_Clear();
            return NULL; /* the caller ends the connection with 1007 */
        }
    } else {
        payload = PyBytes_FromStringAndSize(data, len);
    }
    if (payload == NULL) {
        return NULL;
    }
    (void)ws;
    PyObject *event = Py_BuildValue("(iN)", item->kind, payload);
    return event;
}

/* Move every queued event into a new list, the close event last. */
static PyObject *rx_ws_take_events(WebSocketObject *ws)
{
    PyObject *events = PyList_New(0);
    if (events == NULL) {
        return NULL;
    }
    char reason[sizeof(ws->close_reason)];
    pthread_mutex_lock(&ws->lock);
    rx_ws_item *first = ws->in_first;
    ws->in_first = ws->in_last = NULL;
    int close_code = ws->in_done ? ws->close_code : 0;
    ws->close_code = 0; /* the close is reported once */
    memcpy(reason, ws->close_reason, sizeof(reason));
    pthread_mutex_unlock(&ws->lock);
    rx_ws_item *item = first;
    for (; item != NULL; item = item->next) {
        PyObject *event = rx_ws_event(ws, item);
        if (event == NULL && PyErr_Occurred()) {
            goto fail;
        }
        if (event == NULL) { /* text that is not UTF-8: we close with 1007 */
            Py_BEGIN_ALLOW_THREADS;
            pthread_mutex_lock(&ws->lock);
            rx_ws_fail(ws, 1007, "invalid UTF-8");
            (void)rx_ws_pump_out(ws);
            ws->close_code = 0;
            pthread_mutex_unlock(&ws->lock);
            Py_END_ALLOW_THREADS;
            close_code = 1007;
            memcpy(reason, "invalid UTF-8", sizeof("invalid UTF-8"));
            break;
        }
        int rc = PyList_Append(events, event);
        Py_DECREF(event);
        if (rc < 0) {
            goto fail;
        }
    }
    rx_ws_items_free(first);
    first = NULL;
    if (close_code != 0) {
        PyObject *close = Py_BuildValue("(iis)", RX_WS_CLOSE, close_code, reason);
        if (close == NULL) {
            PyErr_Clear(); /* a reason that is not UTF-8 */
            close = Py_BuildValue("(iis)", RX_WS_CLOSE, close_code, "");
        }
        if (close == NULL || PyList_Append(events, close) < 0) {
            Py_XDECREF(close);
            goto fail;
        }
        Py_DECREF(close);
    }
    return events;
fail:
    rx_ws_items_free(first);
    Py_DECREF(events);
    return NULL;
}

/*** the Python type ***/

static size_t rx_ws_on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    WebSocketObject *ws = userp;
    size_t len = size * nmemb;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        ws->head.len = 0; /* a new response (after a proxy's or a 1xx) */
    }
    return rx_buffer_append(&ws->head, data, len) < 0 ? 0 : len;
}

static PyObject *WebSocket_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t max_size = 1024 * 1024;
    static char *kwlist[] = {"max_size", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|n:WebSocket", kwlist, &max_size)) {
        return NULL;
    }
    if (max_size <= 0) {
        PyErr_SetString(PyExc_ValueError, "max_size must be positive");
        return NULL;
    }
    WebSocketObject *self = (WebSocketObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->max_size = (size_t)max_size;
    self->sock = CURL_SOCKET_BAD;
    self->easy = curl_easy_init();
    if (self->easy == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void rx_ws_release(WebSocketObject *self)
{
    if (self->easy != NULL) {
        if (self->multi != NULL) {
            curl_multi_remove_handle(self->multi, self->easy); /* closes the socket */
        }
        curl_easy_cleanup(self->easy);
        self->easy = NULL;
    }
    if (self->multi != NULL) {
        curl_multi_cleanup(self->multi);
        self->multi = NULL;
    }
    self->open = 0;
    self->sock = CURL_SOCKET_BAD;
    curl_slist_free_all(self->headers);
    self->headers = NULL;
    rx_ws_items_free(self->in_first);
    rx_ws_items_free(self->out_first);
    self->in_first = self->in_last = self->out_first = self->out_last = NULL;
    rx_buffer_free(&self->msg);
    rx_buffer_free(&self->ctl);
}

static void WebSocket_dealloc(WebSocketObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    rx_ws_release(self);
    rx_buffer_free(&self->head);
    pthread_mutex_destroy(&self->lock);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static rx_state *rx_ws_state(WebSocketObject *self)
{
    return (rx_state *)PyType_GetModuleState(Py_TYPE(self));
}

static int rx_ws_check_open(WebSocketObject *self)
{
    if (!self->open) {
        PyErr_SetString(PyExc_RuntimeError, "the WebSocket is not open");
        return -1;
    }
    return 0;
}

/* The handshake on a private multi handle, GIL released except to check
 * for signals every RX_WS_TICK_MS; ``open_ms`` bounds it (0: no bound).
 * libcurl keeps the upgraded connection in the multi's pool, and closes it
 * when the handle is removed: the handle stays added until rx_ws_release. */
static CURLcode rx_ws_handshake(WebSocketObject *self, long open_ms)
{
    if (self->multi == NULL && (self->multi = curl_multi_init()) == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }
    if (curl_multi_add_handle(self->multi, self->easy) != CURLM_OK) {
        return CURLE_FAILED_INIT;
    }
    int64_t deadline = open_ms > 0 ? rx_now_us() + (int64_t)open_ms * 1000 : -1;
    CURLcode rc = CURLE_OK;
    int done = 0;
    while (!done) {
        Py_BEGIN_ALLOW_THREADS;
        int64_t tick_end = rx_now_us() + RX_WS_TICK_MS * 1000;
        for (;;) {
            int running = 0, queued = 0;
            CURLMcode mc = curl_multi_perform(self->multi, &running);
            CURLMsg *msg;
            while ((msg = curl_multi_info_read(self->multi, &queued)) != NULL) {
                if (msg->msg == CURLMSG_DONE) {
                    rc = msg->data.result;
                    done = 1;
                }
            }
            if (mc != CURLM_OK) {
                rc = CURLE_FAILED_INIT;
                done = 1;
            }
            int64_t now = rx_now_us();
            if (!done && deadline >= 0 && now >= deadline) {
                rc = CURLE_OPERATION_TIMEDOUT;
                snprintf(self->errbuf, sizeof(self->errbuf),
                         "the WebSocket handshake took longer than %ld ms", open_ms);
                done = 1;
            }
            if (done || now >= tick_end) {
                break;
            }
            int64_t until = deadline >= 0 && deadline < tick_end ? deadline : tick_end;
            int wait_ms = (int)((until - now) / 1000) + 1;
            curl_multi_poll(self->multi, NULL, 0, wait_ms, NULL);
        }
        Py_END_ALLOW_THREADS;
        if (!done && PyErr_CheckSignals() < 0) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            done = 1;
        }
    }
    return rc; /* the handle stays on the multi: removing it closes a CONNECT_ONLY connection */
}

/* connect(url, headers, settings, connect_timeout, open_timeout) (seconds, 0: none):
 * the handshake, GIL released. None, or TransferError (then .status and
 * .head tell a refused upgrade from a failed connection). */
static PyObject *WebSocket_connect(WebSocketObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    rx_state *state = rx_ws_state(self);
    const char *url;
    long connect_ms = 0, open_ms = 0;
    if (nargs != 5 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "connect(url, headers, settings, connect_timeout, open_timeout)");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[2], state->settings_type)) {
        PyErr_SetString(PyExc_TypeError, "settings must be a Settings object");
        return NULL;
    }
    if (self->easy == NULL || self->open) {
        PyErr_SetString(PyExc_RuntimeError, "connect() is called once");
        return NULL;
    }
    if (!RX_WS_BUILT) {
        PyErr_Format(PyExc_RuntimeError,
                     "this libcurl (%s) has no WebSocket support: requestx needs libcurl 8.14 "
                     "or later, as its bundled one is",
                     LIBCURL_VERSION);
        return NULL;
    }
    if ((url = PyUnicode_AsUTF8(args[0])) == NULL || milliseconds_arg(args[3], &connect_ms) < 0 ||
        milliseconds_arg(args[4], &open_ms) < 0) {
        return NULL;
    }
    curl_slist_free_all(self->headers);
    self->headers = NULL;
    if (header_list(args[1], &self->headers) < 0) {
        return NULL;
    }
    CURL *e = self->easy;
    /* the session's configuration, as every slot applies it (easy.h) */
    rx_slot shim;
    memset(&shim, 0, sizeof(shim));
    shim.easy = e;
    rx_slot_apply_settings(&shim, &((SettingsObject *)args[2])->shared->st);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, self->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, rx_ws_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, self);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "ws,wss");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L); /* an upgrade is not forwarded */
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, self->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 2L);
    curl_easy_setopt(e, CURLOPT_WS_OPTIONS, (long)CURLWS_NOAUTOPONG);
    self->errbuf[0] = '\0';
    self->head.len = 0;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 0L);
    CURLcode rc = rx_ws_handshake(self, open_ms);
    if (rc == CURLE_ABORTED_BY_CALLBACK && PyErr_Occurred()) {
        return NULL; /* a signal handler raised */
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &self->status);
    if (rc == CURLE_OK && self->status != 101) {
        /* libcurl may report a connection that ended before any response as
         * done: without a 101 there is no WebSocket */
        rc = CURLE_GOT_NOTHING;
        snprintf(self->errbuf, sizeof(self->errbuf), "no response to the WebSocket upgrade");
    }
    if (rc == CURLE_OK) {
        curl_socket_t sock = CURL_SOCKET_BAD;
        curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &sock);
        if (sock == CURL_SOCKET_BAD) {
            rc = CURLE_COULDNT_CONNECT;
        } else {
            self->sock = sock;
        }
    }
    if (rc != CURLE_OK) {
        const char *msg = self->errbuf[0] ? self->errbuf : curl_easy_strerror(rc);
        int phase = self->status > 0 ? RX_PHASE_BODY : RX_PHASE_CONNECT;
        rx_raise_transfer_error(state, (int)rc, msg, phase);
        return NULL;
    }
    self->open = 1;
    Py_RETURN_NONE;
}

/* recv(timeout_ms) -> events: waits (GIL released) until at least one event
 * is ready or the time is up ([]); timeout_ms < 0 waits forever. Signals are
 * checked every RX_WS_TICK_MS. */
static PyObject *WebSocket_recv(WebSocketObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long timeout_ms = -1;
    if (nargs != 1 || (timeout_ms = PyLong_AsLong(args[0])) == -1) {
        if (nargs != 1) {
            PyErr_SetString(PyExc_TypeError, "recv(timeout_ms)");
            return NULL;
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    if (rx_ws_check_open(self) < 0) {
        return NULL;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : rx_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int ready, pending;
        Py_BEGIN_ALLOW_THREADS;
        pthread_mutex_lock(&self->lock);
        for (;;) {
            rx_ws_pump_in(self, RX_WS_DRAIN_BYTES, SIZE_MAX);
            pending = rx_ws_pump_out(self);
            ready = self->in_first != NULL || self->in_done;
            int64_t now = rx_now_us();
            if (ready || (deadline >= 0 && now >= deadline)) {
                break;
            }
            int wait_ms = RX_WS_TICK_MS;
            if (deadline >= 0 && (deadline - now) / 1000 < wait_ms) {
                wait_ms = (int)((deadline - now) / 1000) + 1;
            }
            struct pollfd pfd = {.fd = self->sock, .events = POLLIN};
            if (pending) {
                pfd.events |= POLLOUT;
            }
            /* another thread may send meanwhile */
            pthread_mutex_unlock(&self->lock);
            int n = poll(&pfd, 1, wait_ms);
            pthread_mutex_lock(&self->lock);
            if (n == 0 && wait_ms == RX_WS_TICK_MS) {
                break; /* a tick: check signals */
            }
        }
        pthread_mutex_unlock(&self->lock);
        Py_END_ALLOW_THREADS;
        if (ready || (deadline >= 0 && rx_now_us() >= deadline)) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return NULL;
        }
    }
    return rx_ws_take_events(self);
}

/* drain(room) -> (events, status): the events ready now, at most ``room``
 * whole messages, never waiting; status: RX_WS_MORE | RX_WS_OUT_PENDING. */
static PyObject *WebSocket_drain(WebSocketObject *self, PyObject *arg)
{
    Py_ssize_t room = PyLong_AsSsize_t(arg);
    if (room == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (rx_ws_check_open(self) < 0) {
        return NULL;
    }
    int status = 0;
    Py_BEGIN_ALLOW_THREADS;
    pthread_mutex_lock(&self->lock);
    status = rx_ws_pump_in(self, RX_WS_DRAIN_BYTES, room > 0 ? (size_t)room : 1);
    status |= rx_ws_pump_out(self);
    pthread_mutex_unlock(&self->lock);
    Py_END_ALLOW_THREADS;
    PyObject *events = rx_ws_take_events(self);
    if (events == NULL) {
        return NULL;
    }
    return Py_BuildValue("(Ni)", events, status);
}

/* Queue a frame (a copy of ``data``) and write what the socket takes;
 * with wait_ms != 0 (sync), wait until this frame is written or the time
 * is up (ms, < 0 forever). Returns (seq, written): written is whether the
 * frame is out. */
static PyObject *WebSocket_send(WebSocketObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "send(data, kind, wait_ms)");
        return NULL;
    }
    int kind = (int)PyLong_AsLong(args[1]);
    long wait_ms = PyLong_AsLong(args[2]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (kind != RX_WS_TEXT && kind != RX_WS_BINARY && kind != RX_WS_PING && kind != RX_WS_PONG &&
        kind != RX_WS_CLOSE) {
        PyErr_SetString(PyExc_ValueError, "unknown frame kind");
        return NULL;
    }
    if (rx_ws_check_open(self) < 0) {
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if ((kind == RX_WS_PING || kind == RX_WS_PONG || kind == RX_WS_CLOSE) && view.len > 125) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "a control frame's payload is at most 125 bytes");
        return NULL;
    }
    int64_t deadline = wait_ms < 0 ? -1 : rx_now_us() + (int64_t)wait_ms * 1000;
    uint64_t seq = 0;
    int written = 0, nomem = 0, failed = 0, pending = 0;
    Py_BEGIN_ALLOW_THREADS;
    pthread_mutex_lock(&self->lock);
    if (self->close_sent || self->out_failure != CURLE_OK) {
        failed = 1;
    } else {
        rx_ws_item *item = rx_ws_item_new(kind, view.buf, (size_t)view.len);
        if (item == NULL) {
            nomem = 1;
        } else {
            if (kind == RX_WS_CLOSE) {
                self->close_sent = 1;
            }
            rx_ws_push_out(self, item);
            seq = item->seq;
            pending = rx_ws_pump_out(self);
            written = self->out_done >= seq;
            failed = self->out_failure != CURLE_OK;
        }
    }
    pthread_mutex_unlock(&self->lock);
    Py_END_ALLOW_THREADS;
    /* the engine has its copy: the caller's buffer is free */
    PyBuffer_Release(&view);
    /* wait for the socket to take the frame, checking for signals each tick
     * (an interrupted send leaves the frame queued: it goes out later) */
    int expired = 0;
    while (!failed && !nomem && !written && pending && wait_ms != 0 && !expired) {
        Py_BEGIN_ALLOW_THREADS;
        pthread_mutex_lock(&self->lock);
        int64_t tick_end = rx_now_us() + (int64_t)RX_WS_TICK_MS * 1000;
        for (;;) {
            int64_t now = rx_now_us();
            if (deadline >= 0 && now >= deadline) {
                expired = 1;
                break;
            }
            if (now >= tick_end) {
                break;
            }
            int64_t until = deadline >= 0 && deadline < tick_end ? deadline : tick_end;
            struct pollfd pfd = {.fd = self->sock, .events = POLLOUT};
            pthread_mutex_unlock(&self->lock);
            (void)poll(&pfd, 1, (int)((until - now) / 1000) + 1);
            pthread_mutex_lock(&self->lock);
            pending = rx_ws_pump_out(self);
            written = self->out_done >= seq;
            if (written || !pending) {
                break;
            }
        }
        failed = self->out_failure != CURLE_OK;
        pthread_mutex_unlock(&self->lock);
        Py_END_ALLOW_THREADS;
        if (!written && pending && !failed && PyErr_CheckSignals() < 0) {
            return NULL;
        }
    }
    if (nomem) {
        return PyErr_NoMemory();
    }
    if (failed) {
        rx_raise_transfer_error(rx_ws_state(self),
                                self->out_failure ? (int)self->out_failure : (int)CURLE_SEND_ERROR,
                                self->close_sent && self->out_failure == CURLE_OK
                                    ? "the WebSocket is closing"
                                    : curl_easy_strerror(self->out_failure),
                                RX_PHASE_BODY);
        return NULL;
    }
    return Py_BuildValue("(KO)", (unsigned long long)seq, written ? Py_True : Py_False);
}

/* flush() -> the number of the last frame written (async: the socket is
 * writable). Raises TransferError when the connection broke. */
static PyObject *WebSocket_flush(WebSocketObject *self, PyObject *Py_UNUSED(arg))
{
    if (rx_ws_check_open(self) < 0) {
        return NULL;
    }
    uint64_t done;
    CURLcode failure;
    Py_BEGIN_ALLOW_THREADS;
    pthread_mutex_lock(&self->lock);
    (void)rx_ws_pump_out(self);
    done = self->out_done;
    failure = self->out_failure;
    pthread_mutex_unlock(&self->lock);
    Py_END_ALLOW_THREADS;
    if (failure != CURLE_OK) {
        rx_raise_transfer_error(rx_ws_state(self), (int)failure, curl_easy_strerror(failure),
                                RX_PHASE_BODY);
        return NULL;
    }
    return PyLong_FromUnsignedLongLong((unsigned long long)done);
}

/* close(): the connection and the handle, at once (no close frame). */
static PyObject *WebSocket_close(WebSocketObject *self, PyObject *Py_UNUSED(arg))
{
    pthread_mutex_lock(&self->lock);
    rx_ws_release(self);
    pthread_mutex_unlock(&self->lock);
    Py_RETURN_NONE;
}

static PyObject *WebSocket_fileno(WebSocketObject *self, PyObject *Py_UNUSED(arg))
{
    if (rx_ws_check_open(self) < 0) {
        return NULL;
    }
    return PyLong_FromLong((long)self->sock);
}

static PyObject *WebSocket_get_status(WebSocketObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->status);
}

static PyObject *WebSocket_get_head(WebSocketObject *self, void *closure)
{
    (void)closure;
    return PyBytes_FromStringAndSize(self->head.data ? self->head.data : "",
                                     (Py_ssize_t)self->head.len);
}

static PyObject *WebSocket_get_pending(WebSocketObject *self, void *closure)
{
    (void)closure;
    pthread_mutex_lock(&self->lock);
    int pending = self->out_first != NULL;
    pthread_mutex_unlock(&self->lock);
    return PyBool_FromLong(pending);
}

static PyObject *WebSocket_get_failure(WebSocketObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong((long)self->failure);
}

static PyMethodDef WebSocket_methods[] = {
    {"connect", (PyCFunction)(void (*)(void))WebSocket_connect, METH_FASTCALL,
     "connect(url, headers, settings, connect_timeout, open_timeout): the handshake."},
    {"recv", (PyCFunction)(void (*)(void))WebSocket_recv, METH_FASTCALL,
     "recv(timeout_ms) -> events, waiting with the GIL released."},
    {"drain", (PyCFunction)WebSocket_drain, METH_O,
     "drain(room) -> (events, status): what is ready now, at most room messages."},
    {"send", (PyCFunction)(void (*)(void))WebSocket_send, METH_FASTCALL,
     "send(data, kind, wait_ms) -> (seq, written)."},
    {"flush", (PyCFunction)WebSocket_flush, METH_NOARGS,
     "flush() -> the number of the last frame written."},
    {"close", (PyCFunction)WebSocket_close, METH_NOARGS, "Close the connection now."},
    {"fileno", (PyCFunction)WebSocket_fileno, METH_NOARGS, "The connection's socket."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef WebSocket_getset[] = {
    {"status", (getter)WebSocket_get_status, NULL, "The handshake's response status.", NULL},
    {"head", (getter)WebSocket_get_head, NULL, "The handshake's response head.", NULL},
    {"pending", (getter)WebSocket_get_pending, NULL, "Frames wait to be written.", NULL},
    {"failure", (getter)WebSocket_get_failure, NULL,
     "The CURLcode that ended input abnormally (0: none).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot WebSocket_slots[] = {
    {Py_tp_new, WebSocket_new},
    {Py_tp_dealloc, WebSocket_dealloc},
    {Py_tp_methods, WebSocket_methods},
    {Py_tp_getset, WebSocket_getset},
    {Py_tp_doc, "WebSocket(max_size=1048576): one WebSocket connection (ws.h)."},
    {0, NULL},
};

static PyType_Spec WebSocket_spec = {
    .name = "requestx._engine.WebSocket",
    .basicsize = sizeof(WebSocketObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = WebSocket_slots,
};

#endif
