/* sync_types.h: Client and Stream, the sync face of the engine.
 *
 *   Client  - a pool of slots sharing connections, DNS and TLS sessions; one
 *             per Session, usable from many threads at once (each transfer
 *             runs on its own slot with the GIL released).
 *   Stream  - a response whose body is still arriving (stream=True); it owns
 *             its slot until the body ends or it is closed.
 *
 * Client.perform() takes one request and returns the result tuple (see
 * module.c) or raises TransferError. A sync slot keeps with it the Python
 * objects it depends on: the tuple its header list was built from (reused
 * while the same tuple comes again), the request body libcurl reads without
 * copying, and a streamed body's iterator.
 */
#ifndef RX_SYNC_TYPES_H
#define RX_SYNC_TYPES_H

#include "lend.h"
#include "pool.h"
#include "request.h"
#include "stats.h"
#include "sync.h"

/*** Client: the pool ***/

/* A sync slot: the rx_slot first, then what this face keeps with it. */
typedef struct {
    rx_slot slot;
    struct curl_slist *headers; /* built from headers_key */
    PyObject *headers_key;      /* the tuple of header lines it was built from */
    PyObject *body;             /* POSTFIELDS is not copied: kept alive here */
    PyObject *upload_iter;      /* a streamed request body */
} rx_sync_slot;

#define RX_SYNC(slot) ((rx_sync_slot *)(slot))

typedef struct {
    PyObject_HEAD
    rx_pool pool;
    rx_stats *stats; /* Client(stats=...): a reference, or NULL */
} ClientObject;

/* Drop a slot and the Python objects it keeps. GIL held. */
static void slot_discard(rx_slot *slot)
{
    rx_sync_slot *s = RX_SYNC(slot);
    Py_CLEAR(s->headers_key);
    Py_CLEAR(s->body);
    Py_CLEAR(s->upload_iter);
    curl_slist_free_all(s->headers);
    rx_slot_free(slot);
}

static rx_slot *client_acquire(ClientObject *self)
{
    rx_pool *p = &self->pool;
    rx_pool_check_fork(p, 0);
    rx_slot *slot = rx_pool_take(p);
    if (slot != NULL) {
        return slot;
    }
    if (p->share == NULL) {
        p->share = rx_share_new(0);
        if (p->share == NULL) {
            return NULL;
        }
    }
    slot = rx_slot_new(p->share, 1, sizeof(rx_sync_slot));
    if (slot != NULL && self->stats != NULL) {
        rx_slot_keep_stats(slot, self->stats);
    }
    return slot;
}

/* GIL held. A slot goes back to the idle list only if it belongs to the
 * Client's current pool; slots from before a fork are left alone, slots from
 * before close() or beyond the idle limit are cleaned up. */
static void client_release(ClientObject *self, rx_slot *slot)
{
    rx_slot_stop(slot);
    Py_CLEAR(RX_SYNC(slot)->body);
    Py_CLEAR(RX_SYNC(slot)->upload_iter);
    if (self->pool.pid != rx_getpid()) {
        return;
    }
    if (!rx_pool_keep(&self->pool, slot)) {
        slot_discard(slot);
    }
}

static void client_free_idle(ClientObject *self)
{
    rx_slot *slot;
    while ((slot = rx_pool_take(&self->pool)) != NULL) {
        slot_discard(slot);
    }
}

/* Client(stats=None) */
static PyObject *Client_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"stats", NULL};
    PyObject *stats_arg = NULL;
    rx_stats *stats;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$O:Client", kwlist, &stats_arg) ||
        rx_stats_arg(get_state(PyType_GetModule(type)), stats_arg, &stats) < 0) {
        return NULL;
    }
    ClientObject *self = (ClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        rx_stats_unref(stats);
        return NULL;
    }
    self->pool.pid = rx_getpid(); /* the share is made with the first handle */
    self->stats = stats;
    return (PyObject *)self;
}

static void Client_dealloc(ClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->pool.pid == rx_getpid()) {
        client_free_idle(self);
        rx_share_detach(self->pool.share);
    }
    rx_stats_unref(self->stats);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* Point the slot's header list at `headers`, rebuilding the curl_slist only
 * when a different tuple is passed. */
static int slot_set_headers(rx_slot *slot, PyObject *headers)
{
    rx_sync_slot *s = RX_SYNC(slot);
    if (headers == s->headers_key) {
        return 0;
    }
    struct curl_slist *list;
    if (header_list(headers, &list) < 0) {
        return -1;
    }
    curl_slist_free_all(s->headers);
    s->headers = list;
    Py_XSETREF(s->headers_key, Py_NewRef(headers));
    return 0;
}

/*** Stream: a response body still arriving ***/

typedef struct {
    PyObject_HEAD
    ClientObject *client;
    rx_slot *slot; /* NULL once the transfer is finished and released */
    int busy;
    rx_lender lender;
} StreamObject;

static void stream_release(StreamObject *self)
{
    if (self->slot != NULL) {
        rx_slot *slot = self->slot;
        rx_slot_stats_end(slot, slot->done ? slot->result : CURLE_OK, rx_slot_error_phase(slot), 1);
        client_release(self->client, self->slot);
        self->slot = NULL;
    }
    rx_lender_clear(&self->lender);
}

static PyObject *new_stream(rx_state *state, ClientObject *client, rx_slot *slot)
{
    StreamObject *self = PyObject_New(StreamObject, state->stream_type);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(client);
    self->client = client;
    self->slot = slot;
    self->busy = 0;
    self->lender = (rx_lender){0};
    return (PyObject *)self;
}

static void Stream_dealloc(StreamObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    stream_release(self);
    Py_XDECREF(self->client);
    PyObject_Free(self);
    Py_DECREF(tp);
}

/* read() -> bytes: everything that has arrived, waiting for at least one
 * byte; b"" at the end of the body. Raises TransferError if the body breaks. */
static PyObject *Stream_read(StreamObject *self, PyTypeObject *defining_class,
                             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "read() takes no arguments");
        return NULL;
    }
    rx_slot *slot = self->slot;
    if (slot == NULL) {
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this stream is being read by another thread");
        return NULL;
    }
    CURLcode rc = CURLE_OK;
    int py_failed = 0;
    PyObject *lent = NULL;
    if (slot->body.len == 0) {
        if (!slot->done && (lent = rx_lender_take(&self->lender)) != NULL) {
            slot->lent = rx_lend_buffer(lent); /* filled by drive() on this thread */
        }
        self->busy = 1;
        rc = drive(slot, RX_SYNC(slot)->upload_iter, RX_UNTIL_BODY, &py_failed);
        self->busy = 0;
    }
    size_t lent_len = slot->lent.len;
    slot->lent = (rx_buffer){0};
    if (py_failed || rc != CURLE_OK) {
        Py_XDECREF(lent);
        if (!py_failed) {
            rx_raise_transfer_error(get_state(PyType_GetModule(defining_class)), (int)rc,
                                    rx_slot_message(slot, rc), rx_slot_error_phase(slot));
        }
        stream_release(self);
        return NULL;
    }
    if (lent_len > 0) { /* the bytes in ``body``, if any, come after these */
        return rx_lender_hand_out(&self->lender, lent, lent_len);
    }
    rx_lender_keep(&self->lender, lent);
    PyObject *chunk = PyBytes_FromStringAndSize(slot->body.data, (Py_ssize_t)slot->body.len);
    if (chunk == NULL) {
        return NULL;
    }
    rx_lender_saw(&self->lender, slot->body.len);
    slot->body.len = 0;
    if (slot->done && PyBytes_GET_SIZE(chunk) == 0) {
        stream_release(self);
    }
    return chunk;
}

/* close(): abort the transfer if it is still going; the connection is closed
 * by libcurl rather than returned half-read to the pool. */
static PyObject *Stream_close(StreamObject *self, PyObject *unused)
{
    (void)unused;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this stream is being read by another thread");
        return NULL;
    }
    stream_release(self);
    Py_RETURN_NONE;
}

static PyObject *Stream_get_finished(StreamObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->slot == NULL ||
                           (self->slot->done && rx_slot_buffered(self->slot) == 0));
}

static PyObject *Stream_timings(StreamObject *self, PyObject *unused)
{
    (void)unused;
    if (self->slot == NULL) {
        Py_RETURN_NONE;
    }
    return timings_bytes(self->slot);
}

/*** Client.perform ***/

/* The result tuple (module.c) of a response whose headers (and, unless
 * ``payload`` is a Stream, body) are in ``slot``. */
static PyObject *sync_result(rx_slot *slot, PyObject *payload)
{
    PyObject *items[6] = {NULL, NULL, NULL, payload, NULL, NULL};
    PyObject *result = NULL;
    items[0] = PyLong_FromLong(slot->status);
    items[1] = items[0] ? PyLong_FromLong(rx_slot_http_version(slot)) : NULL;
    items[2] =
        items[1] ? PyBytes_FromStringAndSize(slot->head.data, (Py_ssize_t)slot->head.len) : NULL;
    items[4] = items[2] ? timings_bytes(slot) : NULL;
    items[5] = items[4] ? PyLong_FromLong(rx_slot_flags(slot)) : NULL;
    if (items[5] != NULL && (result = PyTuple_New(6)) != NULL) {
        Py_INCREF(payload);
        for (int i = 0; i < 6; i++) {
            PyTuple_SET_ITEM(result, i, items[i]); /* steals */
        }
        return result;
    }
    for (int i = 0; i < 6; i++) {
        if (i != 3) {
            Py_XDECREF(items[i]);
        }
    }
    return NULL;
}

/* perform(method, url, headers, body, connect_timeout, read_timeout, total_timeout, settings,
 *         stream)
 *   -> (status, http_version, raw_headers, body_or_stream, timings, flags)
 * body: bytes, None, or (iterator, length) for a streamed body (length -1:
 * unknown, sent chunked). */
static PyObject *Client_perform(ClientObject *self, PyTypeObject *defining_class,
                                PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 9 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "perform() takes exactly 9 positional arguments");
        return NULL;
    }
    rx_state *state = get_state(PyType_GetModule(defining_class));
    PyObject *headers = args[2], *body = args[3];
    rx_call call;
    if (rx_call_decode(state, args[0], args[1], args + 4, &call) < 0) {
        return NULL;
    }
    rx_request req = {
        .method = call.method,
        .url = call.url,
        .connect_timeout_ms = call.connect_timeout_ms,
        .read_timeout_us = call.read_timeout_us,
        .total_timeout_ms = call.total_timeout_ms,
        .stream = call.stream,
    };
    PyObject *upload_iter = NULL;
    if (PyTuple_Check(body) && PyTuple_GET_SIZE(body) == 2) {
        upload_iter = PyTuple_GET_ITEM(body, 0);
        req.body_len = (curl_off_t)PyLong_AsLongLong(PyTuple_GET_ITEM(body, 1));
        if (req.body_len == -1 && PyErr_Occurred()) {
            return NULL;
        }
        req.upload_stream = 1;
    } else if (body != Py_None && !PyBytes_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "body must be bytes, (iterator, length) or None");
        return NULL;
    }

    rx_slot *slot = client_acquire(self);
    if (slot == NULL) {
        rx_raise_transfer_error(state, CURLE_OUT_OF_MEMORY, "could not create a libcurl handle",
                                RX_PHASE_CONNECT);
        return NULL;
    }
    if (slot_set_headers(slot, headers) < 0) {
        client_release(self, slot);
        return NULL;
    }
    rx_slot_use_settings(slot, call.settings);
    req.headers = RX_SYNC(slot)->headers;
    if (upload_iter != NULL) {
        RX_SYNC(slot)->upload_iter = Py_NewRef(upload_iter);
    } else if (body != Py_None) {
        RX_SYNC(slot)->body = Py_NewRef(body);
        req.body = PyBytes_AS_STRING(body);
        req.body_len = (curl_off_t)PyBytes_GET_SIZE(body);
    }

    int py_failed = 0;
    if (slot->stats != NULL) {
        rx_slot_stats_begin(slot, call.method, call.url);
    }
    CURLcode rc = rx_slot_start(slot, &req);
    if (rc == CURLE_OK) {
        rc = drive(slot, upload_iter, req.stream ? RX_UNTIL_HEADERS : RX_UNTIL_DONE, &py_failed);
    }
    if (py_failed || rc != CURLE_OK || !req.stream) {
        /* a stream's ends with its body (stream_release) */
        rx_slot_stats_end(slot, rc, rx_slot_error_phase(slot), !py_failed);
    }
    if (py_failed || rc != CURLE_OK) {
        if (!py_failed) {
            rx_raise_transfer_error(state, (int)rc, rx_slot_message(slot, rc),
                                    rx_slot_error_phase(slot));
        }
        client_release(self, slot);
        return NULL;
    }
    PyObject *payload, *result = NULL;
    if (req.stream) {
        payload = new_stream(state, self, slot); /* owns the slot from here on */
        if (payload == NULL) {
            rx_slot_stats_end(slot, rc, rx_slot_error_phase(slot), 0);
            client_release(self, slot);
            return NULL;
        }
        result = sync_result(slot, payload);
    } else {
        payload = PyBytes_FromStringAndSize(slot->body.data, (Py_ssize_t)slot->body.len);
        result = payload ? sync_result(slot, payload) : NULL;
        client_release(self, slot);
    }
    Py_XDECREF(payload);
    return result;
}

static PyObject *Client_close(ClientObject *self, PyObject *unused)
{
    (void)unused;
    rx_pool_check_fork(&self->pool, 0);
    client_free_idle(self);
    rx_share_detach(self->pool.share);
    self->pool.share = NULL;
    Py_RETURN_NONE;
}

static PyObject *Client_get_idle(ClientObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->pool.idle_count);
}

#endif
