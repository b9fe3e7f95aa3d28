/* async_types.h: AsyncClient, Port and AsyncTransfer, the asyncio face of
 * the engine thread (loop.h).
 *
 *   AsyncClient   - an async pool (xfer.h) with its limits; submit() hands
 *                   one request to the engine thread and returns at once.
 *   Port          - one event loop's mailbox (port.h): the loop watches its
 *                   eventfd and calls drain(), which delivers the news of
 *                   every transfer in the batch.
 *   AsyncTransfer - one request: its future (resolved with the result tuple,
 *                   see module.c, or an exception), and for a stream the
 *                   body's reader side (take/wait) with lending (lend.h).
 *
 * Everything here runs on event-loop threads with the GIL; what the engine
 * thread also reads is read and written under the engine lock.
 */
#ifndef RX_ASYNC_TYPES_H
#define RX_ASYNC_TYPES_H

#include "lend.h"
#include "loop.h"
#include "request.h"

typedef struct {
    PyObject_HEAD
    rx_async_pool *pool;
    /* the header lines of the last submit(), reused while the caller passes
     * the same tuple object (kept alive here for that) */
    PyObject *headers_key;
    rx_shared_headers *headers;
} AsyncClientObject;

typedef struct {
    PyObject_HEAD
    rx_port *port;
} PortObject;

typedef struct {
    PyObject_HEAD
    rx_xfer *xfer;
    PyObject *future;        /* resolved with the response tuple, or an exception */
    PyObject *waiter;        /* stream=True: a future waiting for body bytes */
    PyObject *upload_waiter; /* a streamed request body's producer, waiting */
    PyObject *port;          /* the PortObject the news go to */
    int delivered;           /* `future` has been resolved */
    rx_lender *lender;       /* stream=True, once read: see lend.h (engine lock) */
} AsyncTransferObject;

static void resolve(rx_state *state, PyObject *future, PyObject *value, int is_error)
{
    PyObject *cancelled = PyObject_CallMethodNoArgs(future, state->str_cancelled);
    if (cancelled == NULL) {
        PyErr_WriteUnraisable(future);
        return;
    }
    int skip = PyObject_IsTrue(cancelled);
    Py_DECREF(cancelled);
    if (skip) {
        return;
    }
    PyObject *name = is_error ? state->str_set_exception : state->str_set_result;
    PyObject *r = PyObject_CallMethodOneArg(future, name, value);
    if (r == NULL) {
        PyErr_WriteUnraisable(future);
    }
    Py_XDECREF(r);
}

static PyObject *transfer_error_object(rx_state *state, rx_xfer *x)
{
    return rx_transfer_error(state, (int)x->result, x->error, x->phase);
}

/* The transfer's response, from its outcome or, for a stream (or when the
 * outcome could not be made), its slot. */
static const rx_summary *xfer_summary(rx_xfer *x, rx_summary *local)
{
    if (x->outcome != NULL) {
        return &x->outcome->info;
    }
    rx_slot_summarize(x->slot, local);
    return local;
}

/* The result tuple (module.c): (status, http_version, raw_headers,
 * body_or_transfer, timings, flags). */
static PyObject *async_result(const rx_summary *s, PyObject *payload)
{
    PyObject *head = PyBytes_FromStringAndSize(s->head, (Py_ssize_t)s->head_len);
    PyObject *timings =
        head ? PyBytes_FromStringAndSize((const char *)s->timings, sizeof(s->timings)) : NULL;
    if (timings == NULL) {
        Py_XDECREF(head);
        return NULL;
    }
    return Py_BuildValue("(iiNONi)", s->status, s->http_version, head, payload, timings, s->flags);
}

/* With the GIL: act on the news the engine posted for one transfer. */
static void deliver(rx_state *state, AsyncTransferObject *t)
{
    rx_xfer *x = t->xfer;
    int events = x->taken;
    x->taken = 0;
    if (!t->delivered && (events & (RX_EV_HEADERS | RX_EV_DONE))) {
        t->delivered = 1;
        PyObject *value;
        int is_error = 0;
        rx_summary local;
        if (x->stream && (events & RX_EV_HEADERS)) {
            value = async_result(xfer_summary(x, &local), (PyObject *)t);
        } else if (x->result != CURLE_OK) {
            value = transfer_error_object(state, x);
            is_error = 1;
        } else if (x->stream) {
            value = async_result(xfer_summary(x, &local), (PyObject *)t);
        } else {
            const rx_summary *s = xfer_summary(x, &local);
            PyObject *body = PyBytes_FromStringAndSize(s->body, (Py_ssize_t)s->body_len);
            value = body ? async_result(s, body) : NULL;
            Py_XDECREF(body);
        }
        if (value == NULL) {
            PyObject *type, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            is_error = 1;
        }
        resolve(state, t->future, value, is_error);
        Py_DECREF(value);
    }
    if (t->waiter != NULL && (events & (RX_EV_DATA | RX_EV_DONE))) {
        PyObject *waiter = t->waiter;
        t->waiter = NULL;
        resolve(state, waiter, Py_None, 0);
        Py_DECREF(waiter);
    }
    if (t->upload_waiter != NULL && (events & (RX_EV_UPLOAD | RX_EV_DONE))) {
        PyObject *waiter = t->upload_waiter;
        t->upload_waiter = NULL;
        resolve(state, waiter, Py_None, 0);
        Py_DECREF(waiter);
    }
}

static PyObject *Port_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PortObject *self = (PortObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->port = rx_port_new();
    if (self->port == NULL) {
        Py_DECREF(self);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return (PyObject *)self;
}

static void Port_dealloc(PortObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->port != NULL) {
        pthread_mutex_lock(&rx_the_engine.lock);
        rx_port_unref_locked(self->port);
        pthread_mutex_unlock(&rx_the_engine.lock);
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *Port_fileno(PortObject *self, PyObject *unused)
{
    return PyLong_FromLong(self->port->efd);
}

/* drain(): the event loop's reader callback. Takes every transfer with news
 * in one go and resolves their futures. */
static PyObject *Port_drain(PortObject *self, PyTypeObject *defining_class, PyObject *const *args,
                            Py_ssize_t nargs, PyObject *kwnames)
{
    rx_state *state = get_state(PyType_GetModule(defining_class));
    rx_xfer *x = rx_port_take(self->port);
    while (x != NULL) {
        rx_xfer *next = x->taken_next;
        AsyncTransferObject *t = x->pyobj;
        int released = x->taken & RX_EV_RELEASED;
        deliver(state, t);
        if (released) {
            x->pyobj = NULL;
            Py_DECREF(t); /* the engine's reference */
        }
        x = next;
    }
    Py_RETURN_NONE;
}

static int AsyncTransfer_traverse(AsyncTransferObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->future);
    Py_VISIT(self->waiter);
    Py_VISIT(self->upload_waiter);
    Py_VISIT(self->port);
    return 0;
}

static int AsyncTransfer_clear(AsyncTransferObject *self)
{
    Py_CLEAR(self->future);
    Py_CLEAR(self->waiter);
    Py_CLEAR(self->upload_waiter);
    Py_CLEAR(self->port);
    return 0;
}

static void AsyncTransfer_dealloc(AsyncTransferObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    AsyncTransfer_clear(self);
    if (self->lender != NULL) {
        pthread_mutex_lock(&rx_the_engine.lock);
        if (self->xfer->slot != NULL) {
            self->xfer->slot->lent = (rx_buffer){0};
        }
        pthread_mutex_unlock(&rx_the_engine.lock);
        rx_lender_clear(self->lender);
        PyMem_Free(self->lender);
    }
    if (self->xfer != NULL) {
        rx_xfer_dispose(self->xfer); /* released by the engine: see Port_drain */
    }
    PyObject_GC_Del(self);
    Py_DECREF(tp);
}

/* cancel(): stop the transfer (its connection is closed, not reused). */
static PyObject *AsyncTransfer_cancel(AsyncTransferObject *self, PyObject *unused)
{
    rx_xfer *x = self->xfer;
    pthread_mutex_lock(&rx_the_engine.lock);
    int finished = x->finished;
    x->cancel = 1;
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (!finished && rx_engine_send(RX_CMD_CANCEL, x, NULL) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* take() could not make a bytes object of ``taken``: put the bytes back in
 * front of what arrived since, or, if even that fails, stop the transfer
 * rather than let the body continue with a gap. */
static void give_back_body(AsyncTransferObject *self, rx_buffer *taken)
{
    rx_xfer *x = self->xfer;
    int lost = 1;
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_slot *slot = x->slot;
    if (slot != NULL && rx_buffer_append(taken, slot->body.data, slot->body.len) == 0) {
        rx_buffer newer = slot->body;
        slot->body = *taken;
        newer.len = 0;
        *taken = newer;
        lost = 0;
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    rx_buffer_free(taken);
    if (lost) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        Py_XDECREF(AsyncTransfer_cancel(self, NULL));
        PyErr_Restore(type, value, tb);
    }
}

/* Lend the slot of a fast stream a bytes object to write the next bytes
 * into (see lend.h), if it has none and nothing waits in its own buffer. */
static void lend_to_slot(AsyncTransferObject *self)
{
    rx_xfer *x = self->xfer;
    rx_lender *l = self->lender;
    if (l == NULL || l->out != NULL || x->slot == NULL) {
        return;
    }
    PyObject *obj = rx_lender_take(l);
    if (obj == NULL) {
        return;
    }
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_slot *slot = x->slot;
    if (!x->finished && slot->lent.cap == 0 && slot->body.len == 0) {
        slot->lent = rx_lend_buffer(obj);
        l->out = obj;
        obj = NULL;
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    rx_lender_keep(l, obj);
}

/* take() -> bytes | None: body bytes that have arrived (b"" at the end), or
 * None when the caller must wait(future) for more. Raises TransferError if
 * the body broke. */
static PyObject *AsyncTransfer_take(AsyncTransferObject *self, PyTypeObject *defining_class,
                                    PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rx_xfer *x = self->xfer;
    if (!x->stream) {
        PyErr_SetString(PyExc_RuntimeError, "take() is for stream=True transfers");
        return NULL;
    }
    rx_slot *slot = x->slot;
    PyObject *chunk = NULL, *lent = NULL;
    size_t lent_len = 0;
    rx_buffer taken = {0};
    int unpause = 0, failed = 0;
    pthread_mutex_lock(&rx_the_engine.lock);
    if (slot != NULL && slot->lent.len > 0) {
        /* the bytes in the slot's own buffer, if any, come after these */
        lent = self->lender->out; /* a slot is only lent to with a lender */
        self->lender->out = NULL;
        lent_len = slot->lent.len;
        slot->lent = (rx_buffer){0};
        unpause = slot->paused && x->running;
    } else if (slot != NULL && slot->body.len > 0) {
        /* Swap buffers and copy outside the lock: the engine thread goes on
         * appending to the (empty) spare meanwhile. */
        taken = slot->body;
        slot->body = x->st->spare;
        x->st->spare = (rx_buffer){0};
        unpause = slot->paused && x->running;
    } else if (x->finished) {
        failed = x->result != CURLE_OK;
        if (!failed) {
            chunk = PyBytes_FromStringAndSize(NULL, 0);
        }
    } else {
        x->st->want_data = 1;
        chunk = Py_NewRef(Py_None);
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (lent != NULL) {
        chunk = rx_lender_hand_out(self->lender, lent, lent_len);
    } else if (taken.data != NULL) {
        chunk = PyBytes_FromStringAndSize(taken.data, (Py_ssize_t)taken.len);
        if (chunk == NULL) {
            give_back_body(self, &taken);
            return NULL; /* MemoryError */
        }
        if (taken.len >= RX_LEND_START_BYTES && self->lender == NULL) {
            self->lender = PyMem_Calloc(1, sizeof(rx_lender)); /* NULL: no lending */
        }
        if (self->lender != NULL) {
            rx_lender_saw(self->lender, taken.len);
        }
        taken.len = 0;
        x->st->spare = taken;
    }
    if (failed) {
        rx_raise_transfer_error(get_state(PyType_GetModule(defining_class)), (int)x->result,
                                x->error, x->phase);
        return NULL;
    }
    lend_to_slot(self); /* before the engine is told to go on */
    if (unpause && rx_engine_send(RX_CMD_UNPAUSE, x, NULL) < 0) {
        Py_XDECREF(chunk);
        return PyErr_NoMemory();
    }
    return chunk;
}

/* wait(future): resolved with None when take() has something new. */
static PyObject *AsyncTransfer_wait(AsyncTransferObject *self, PyObject *future)
{
    Py_XSETREF(self->waiter, Py_NewRef(future));
    Py_RETURN_NONE;
}

/* feed(chunk) -> int: add a piece of a streamed request body (b"" ends it).
 * 0: go on; 1: enough is buffered, call wait_upload() first; 2: the transfer
 * is over (answered early, failed or cancelled), stop producing. */
static PyObject *AsyncTransfer_feed(AsyncTransferObject *self, PyObject *chunk)
{
    Py_buffer view;
    if (!self->xfer->upload_stream) {
        PyErr_SetString(PyExc_RuntimeError, "this transfer has no streamed request body");
        return NULL;
    }
    if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    int rc = rx_xfer_feed(self->xfer, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    if (rc < 0) {
        return PyErr_NoMemory();
    }
    return PyLong_FromLong(rc);
}

/* wait_upload(future) -> bool: True when the future will be resolved once the
 * producer may feed more (or the transfer ends); False: go on now. */
static PyObject *AsyncTransfer_wait_upload(AsyncTransferObject *self, PyObject *future)
{
    if (!rx_xfer_upload_wait(self->xfer)) {
        Py_RETURN_FALSE;
    }
    Py_XSETREF(self->upload_waiter, Py_NewRef(future));
    Py_RETURN_TRUE;
}

static PyObject *AsyncTransfer_get_finished(AsyncTransferObject *self, void *closure)
{
    pthread_mutex_lock(&rx_the_engine.lock);
    int done = self->xfer->finished &&
               (self->xfer->slot == NULL || rx_slot_buffered(self->xfer->slot) == 0);
    pthread_mutex_unlock(&rx_the_engine.lock);
    return PyBool_FromLong(done);
}

static PyObject *AsyncClient_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"max_connections", "max_connections_per_host", "http2", "stats", NULL};
    int max_total = 100, max_per_host = 0, http2 = 0;
    PyObject *stats_arg = NULL;
    rx_stats *stats;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|iip$O:AsyncClient", kwlist, &max_total,
                                     &max_per_host, &http2, &stats_arg) ||
        rx_stats_arg(get_state(PyType_GetModule(type)), stats_arg, &stats) < 0) {
        return NULL;
    }
    AsyncClientObject *self = (AsyncClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        rx_stats_unref(stats);
        return NULL;
    }
    self->pool = rx_async_pool_new(max_total, max_per_host, http2, stats);
    if (self->pool == NULL) {
        rx_stats_unref(stats);
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void async_client_release(AsyncClientObject *self)
{
    if (self->pool == NULL) {
        return;
    }
    if (rx_the_engine.started && rx_the_engine.pid == rx_getpid()) {
        rx_engine_send(RX_CMD_CLOSE_POOL, NULL, self->pool);
    } else {
        pthread_mutex_lock(&rx_the_engine.lock);
        rx_async_pool_unref(self->pool);
        pthread_mutex_unlock(&rx_the_engine.lock);
    }
    self->pool = NULL;
}

static void AsyncClient_dealloc(AsyncClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    async_client_release(self);
    Py_CLEAR(self->headers_key);
    rx_shared_headers_unref(self->headers);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *AsyncClient_close(AsyncClientObject *self, PyObject *unused)
{
    async_client_release(self);
    Py_RETURN_NONE;
}

/* The shared header lines for a tuple of bytes: the cached ones when it is
 * the tuple of last time. Returns a new reference, or NULL with an error. */
static rx_shared_headers *async_client_headers(AsyncClientObject *self, PyObject *headers)
{
    if (headers != self->headers_key || self->headers == NULL) {
        rx_shared_headers *h = calloc(1, sizeof(*h));
        if (h == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        h->refs = 1;
        if (header_list(headers, &h->list) < 0) {
            free(h);
            return NULL;
        }
        rx_shared_headers_unref(self->headers);
        self->headers = h;
        Py_XSETREF(self->headers_key, Py_NewRef(headers));
    }
    __atomic_add_fetch(&self->headers->refs, 1, __ATOMIC_RELAXED);
    return self->headers;
}

/* submit(port, future, method, url, host, headers, body, connect_timeout,
 *        read_timeout, total_timeout, settings, stream) -> AsyncTransfer
 * body: bytes, None, or an int: the announced length (-1: unknown, sent
 * chunked) of a body the caller then streams with AsyncTransfer.feed().
 * A closed AsyncClient raises RuntimeError (a misuse, as in httpx); what the
 * engine itself cannot get (a pool after fork(), its thread) is reported as
 * TransferError, as the same failure on the engine thread would be. */
static PyObject *AsyncClient_submit(AsyncClientObject *self, PyTypeObject *defining_class,
                                    PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 12 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "submit() takes exactly 12 positional arguments");
        return NULL;
    }
    rx_state *state = get_state(PyType_GetModule(defining_class));
    if (self->pool == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the session is closed");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], state->port_type)) {
        PyErr_SetString(PyExc_TypeError, "port must be a Port");
        return NULL;
    }
    PyObject *headers = args[5], *body = args[6];
    rx_call call;
    Py_ssize_t host_len;
    const char *host;
    if (rx_call_decode(state, args[2], args[3], args + 7, &call) < 0 ||
        (host = PyUnicode_AsUTF8AndSize(args[4], &host_len)) == NULL) {
        return NULL;
    }
    if (body != Py_None && !PyBytes_Check(body) && !PyLong_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "body must be bytes, None or a streamed body's length");
        return NULL;
    }
    /* method, url and host are copied into the transfer's own allocation:
     * [rx_xfer][rx_xfer_stream, for a stream or a streamed body][strings] */
    const char *texts[3] = {call.method, call.url, host};
    Py_ssize_t lens[3] = {call.method_len, call.url_len, host_len};
    int has_stream = call.stream || PyLong_Check(body);
    size_t head = sizeof(rx_xfer) + (has_stream ? sizeof(rx_xfer_stream) : 0);
    rx_xfer *x = calloc(1, head + (size_t)(lens[0] + lens[1] + lens[2]) + 3);
    if (x == NULL) {
        return PyErr_NoMemory();
    }
    if (has_stream) {
        x->st = (rx_xfer_stream *)(x + 1);
    }
    char *copy = (char *)x + head;
    char **fields[3] = {&x->method, &x->url, &x->host};
    for (int i = 0; i < 3; i++) {
        memcpy(copy, texts[i], (size_t)lens[i]);
        copy[lens[i]] = '\0';
        *fields[i] = copy;
        copy += lens[i] + 1;
    }
    if (headers != Py_None && (x->headers = async_client_headers(self, headers)) == NULL) {
        goto fail;
    }
    x->settings = rx_shared_settings_ref(call.settings);
    if (PyLong_Check(body)) { /* fed later by AsyncTransfer.feed() */
        x->upload_stream = 1;
        x->body_len = (curl_off_t)PyLong_AsLongLong(body);
        if (x->body_len < -1 || PyErr_Occurred()) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "a streamed body's length must be -1 or more");
            }
            goto fail;
        }
    } else if (body != Py_None) {
        x->body_len = (curl_off_t)PyBytes_GET_SIZE(body);
        x->body = malloc((size_t)x->body_len + 1);
        if (x->body == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(x->body, PyBytes_AS_STRING(body), (size_t)x->body_len);
    }
    x->connect_timeout_ms =
        (int32_t)(call.connect_timeout_ms > INT32_MAX ? INT32_MAX : call.connect_timeout_ms);
    x->total_timeout_ms =
        (int32_t)(call.total_timeout_ms > INT32_MAX ? INT32_MAX : call.total_timeout_ms);
    x->read_timeout_us = call.read_timeout_us;
    x->stream = call.stream;
    x->submitted_us = rx_now_us();

    AsyncTransferObject *t = PyObject_GC_New(AsyncTransferObject, state->async_transfer_type);
    if (t == NULL) {
        goto fail;
    }
    t->xfer = NULL;
    t->future = Py_NewRef(args[1]);
    t->waiter = NULL;
    t->upload_waiter = NULL;
    t->port = Py_NewRef(args[0]);
    t->delivered = 0;
    t->lender = NULL;
    PyObject_GC_Track(t);

    pthread_mutex_lock(&rx_the_engine.lock);
    if (rx_async_pool_check_fork(self->pool) < 0) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        Py_DECREF(t); /* t->xfer is NULL: nothing to dispose */
        rx_xfer_free_request(x);
        free(x);
        rx_raise_transfer_error(state, CURLE_OUT_OF_MEMORY,
                                "could not make a new connection pool after fork()",
                                RX_PHASE_CONNECT);
        return NULL;
    }
    x->pid = rx_getpid();
    x->pool = self->pool;
    x->pool->refs++;
    x->port = ((PortObject *)args[0])->port;
    x->port->refs++;
    pthread_mutex_unlock(&rx_the_engine.lock);
    x->pyobj = Py_NewRef(t); /* the engine's reference, dropped by Port.drain */
    t->xfer = x;
    if (rx_engine_send(RX_CMD_SUBMIT, x, NULL) < 0) {
        Py_DECREF(t); /* the engine's */
        x->pyobj = NULL;
        Py_DECREF(t); /* disposes x */
        rx_raise_transfer_error(state, CURLE_FAILED_INIT,
                                "could not start the requestx engine thread", RX_PHASE_CONNECT);
        return NULL;
    }
    return (PyObject *)t;

fail:
    rx_xfer_free_request(x);
    free(x);
    return NULL;
}

#endif
