/* requestx._engine: the C engine under requestx.
 *
 * One translation unit holds the module, its types and their method tables;
 * the transfer itself lives in transfer.h (pure C, no Python), the buffers in
 * buffer.h and the shared connection pool in share.h.
 *
 *   Client  - a pool of libcurl easy handles sharing connections, DNS and TLS
 *             sessions; one per Session, usable from many threads at once.
 *   Stream  - a response whose body is still arriving (stream=True).
 *
 * Client.perform() takes one request, releases the GIL for the whole
 * transfer and returns (status, http_version, raw_headers, body, timings,
 * flags) (flags: RX_FLAG_* in transfer.h)
 * (timings: six native doubles packed in bytes, see timings_bytes())
 * where body is bytes, or a Stream when stream=True. Failures raise
 * TransferError(curl_code, message, phase); requestx.exceptions maps them to
 * requests' exception tree in one table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <unistd.h>

#include "async_engine.h"
#include "lend.h"
#include "sse.h"
#include "transfer.h"

/* While a sync transfer waits, Python's signal handlers (Ctrl-C) get a chance
 * to run this often. */
#define RX_SIGNAL_CHECK_US 100000

/* Idle easy handles kept per Client; more than this are cleaned up. */
#define RX_MAX_IDLE_SLOTS 64

/*** Module state ***/

typedef struct {
    PyTypeObject *client_type;
    PyTypeObject *stream_type;
    PyTypeObject *async_client_type;
    PyTypeObject *port_type;
    PyTypeObject *async_transfer_type;
    PyTypeObject *sse_parser_type;
    PyObject *transfer_error;
    PyObject *str_cancelled;
    PyObject *str_set_result;
    PyObject *str_set_exception;
    PyTypeObject *pending_type;
    PyObject *pending_start; /* the hooks of pending.h */
    PyObject *pending_done;
    PyObject *pending_failed;
    PyObject *str_throw;
    PyObject *str_close;
    PyObject *str_cancel;
} rx_state;

static inline rx_state *get_state(PyObject *module)
{
    return (rx_state *)PyModule_GetState(module);
}

#include "pending.h"

/*** Client: the pool ***/

typedef struct {
    PyObject_HEAD
    rx_share *share;
    rx_slot *idle;
    int idle_count;
    pid_t pid;
} ClientObject;

/* Drop a slot and the Python objects its caches hold. GIL held. */
static void slot_discard(rx_slot *slot)
{
    Py_XDECREF((PyObject *)slot->headers_key);
    Py_XDECREF((PyObject *)slot->settings_key);
    Py_XDECREF((PyObject *)slot->body_key);
    Py_XDECREF((PyObject *)slot->upload_iter);
    rx_slot_free(slot);
}

/* After fork() the child must not touch sockets or TLS state it shares with
 * the parent: forget (deliberately leak) the inherited pool and start anew. */
static void client_check_fork(ClientObject *self)
{
    pid_t pid = rx_getpid();
    if (self->pid != pid) {
        self->share = NULL;
        self->idle = NULL;
        self->idle_count = 0;
        self->pid = pid;
    }
}

static rx_slot *client_acquire(ClientObject *self)
{
    client_check_fork(self);
    rx_slot *slot = self->idle;
    if (slot != NULL) {
        self->idle = slot->next;
        self->idle_count--;
        slot->next = NULL;
        return slot;
    }
    if (self->share == NULL) {
        self->share = rx_share_new();
        if (self->share == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
    }
    slot = rx_slot_new(self->share, 1);
    if (slot == NULL) {
        PyErr_SetString(PyExc_MemoryError, "could not create a libcurl handle");
    }
    return slot;
}

/* GIL held. A slot goes back to the idle list only if it belongs to the
 * Client's current pool; slots from before a fork are left alone, slots from
 * before close() or beyond the idle limit are cleaned up. */
static void client_release(ClientObject *self, rx_slot *slot)
{
    rx_slot_stop(slot);
    Py_CLEAR(*(PyObject **)&slot->body_key);
    Py_CLEAR(*(PyObject **)&slot->upload_iter);
    if (self->pid != rx_getpid()) {
        return;
    }
    if (slot->share != self->share || self->idle_count >= RX_MAX_IDLE_SLOTS) {
        slot_discard(slot);
        return;
    }
    slot->next = self->idle;
    self->idle = slot;
    self->idle_count++;
}

static void client_free_idle(ClientObject *self)
{
    while (self->idle != NULL) {
        rx_slot *slot = self->idle;
        self->idle = slot->next;
        slot_discard(slot);
    }
    self->idle_count = 0;
}

static PyObject *Client_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Client() takes no arguments");
        return NULL;
    }
    ClientObject *self = (ClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->pid = rx_getpid(); /* the share is made with the first handle */
    return (PyObject *)self;
}

static void Client_dealloc(ClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->pid == rx_getpid()) {
        client_free_idle(self);
        rx_share_detach(self->share);
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The curl_slist for `headers`, a tuple of bytes "Name: value" (None: an
 * empty list). Returns 0, or -1 with an error set. */
static int header_list(PyObject *headers, struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    if (headers != Py_None) {
        if (!PyTuple_Check(headers)) {
            PyErr_SetString(PyExc_TypeError, "headers must be a tuple of bytes");
            return -1;
        }
        Py_ssize_t n = PyTuple_GET_SIZE(headers);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = PyTuple_GET_ITEM(headers, i);
            struct curl_slist *next = NULL;
            if (!PyBytes_Check(item)) {
                PyErr_SetString(PyExc_TypeError, "headers must be a tuple of bytes");
            } else if ((next = curl_slist_append(list, PyBytes_AS_STRING(item))) == NULL) {
                PyErr_NoMemory();
            }
            if (next == NULL) {
                curl_slist_free_all(list);
                return -1;
            }
            list = next;
        }
    }
    *out = list;
    return 0;
}

/* Point the slot's header list at `headers`, rebuilding the curl_slist only
 * when a different tuple is passed. */
static int slot_set_headers(rx_slot *slot, PyObject *headers)
{
    if ((void *)headers == slot->headers_key) {
        return 0;
    }
    struct curl_slist *list;
    if (header_list(headers, &list) < 0) {
        return -1;
    }
    curl_slist_free_all(slot->headers);
    slot->headers = list;
    Py_XDECREF((PyObject *)slot->headers_key);
    Py_INCREF(headers);
    slot->headers_key = headers;
    return 0;
}

/* Optional str argument: None gives NULL. */
static int opt_str(PyObject *obj, const char **out)
{
    if (obj == Py_None) {
        *out = NULL;
        return 0;
    }
    *out = PyUnicode_AsUTF8(obj);
    return *out == NULL ? -1 : 0;
}

/* Read a settings tuple = (http_version, verify, ca_info, ca_path, cert, key,
 * proxy, decode, interface, unix_socket). The strings in `st` are borrowed
 * from the tuple. Returns 0, or -1 with an error set. */
static int parse_settings(PyObject *settings, rx_settings *st)
{
    if (!PyTuple_Check(settings) || PyTuple_GET_SIZE(settings) != RX_SETTINGS_SIZE) {
        PyErr_SetString(PyExc_TypeError, "settings must be a 10-tuple");
        return -1;
    }
    st->http_version = PyLong_AsLong(PyTuple_GET_ITEM(settings, 0));
    if (st->http_version == -1 && PyErr_Occurred()) {
        return -1;
    }
    st->verify = PyObject_IsTrue(PyTuple_GET_ITEM(settings, 1));
    if (st->verify < 0 || opt_str(PyTuple_GET_ITEM(settings, 2), &st->ca_info) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 3), &st->ca_path) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 4), &st->cert) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 5), &st->key) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 6), &st->proxy) < 0 ||
        (st->decode = PyObject_IsTrue(PyTuple_GET_ITEM(settings, 7))) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 8), &st->interface) < 0 ||
        opt_str(PyTuple_GET_ITEM(settings, 9), &st->unix_socket) < 0) {
        return -1;
    }
    return 0;
}

/* Apply a settings tuple to the slot, only when a different tuple than last
 * time is passed. */
static int slot_set_settings(rx_slot *slot, PyObject *settings)
{
    if ((void *)settings == slot->settings_key) {
        return 0;
    }
    rx_settings st;
    if (parse_settings(settings, &st) < 0) {
        return -1;
    }
    rx_slot_apply_settings(slot, &st);
    Py_XDECREF((PyObject *)slot->settings_key);
    Py_INCREF(settings);
    slot->settings_key = settings;
    return 0;
}

static void raise_transfer_error(rx_state *state, rx_slot *slot, CURLcode rc)
{
    PyObject *args =
        Py_BuildValue("(isi)", (int)rc, rx_slot_message(slot, rc), rx_slot_error_phase(slot));
    if (args != NULL) {
        PyErr_SetObject(state->transfer_error, args);
        Py_DECREF(args);
    }
}

/* Give libcurl the next chunk of a streamed request body from its Python
 * iterator. Runs with the GIL, between libcurl calls. -1 with an exception. */
static int feed_upload(rx_slot *slot)
{
    PyObject *iter = (PyObject *)slot->upload_iter;
    for (;;) {
        PyObject *chunk = iter != NULL ? PyIter_Next(iter) : NULL;
        if (chunk == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            return rx_slot_feed(slot, NULL, 0, 1);
        }
        Py_buffer view;
        if (PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE) < 0) {
            Py_DECREF(chunk);
            PyErr_SetString(PyExc_TypeError, "a streamed body must yield bytes-like objects");
            return -1;
        }
        int rc = 0;
        if (view.len > 0) {
            rc = rx_slot_feed(slot, view.buf, (size_t)view.len, 0);
        }
        PyBuffer_Release(&view);
        Py_DECREF(chunk);
        if (rc < 0) {
            PyErr_NoMemory();
            return -1;
        }
        if (view.len > 0) {
            return 0;
        }
    }
}

/* Run the transfer towards `goal` with the GIL released, stopping only to
 * feed a streamed body. GIL held on entry and exit. *py_failed is set when a
 * Python exception (from the body's iterator) is pending. */
static CURLcode drive(rx_slot *slot, enum rx_goal goal, int *py_failed)
{
    *py_failed = 0;
    for (;;) {
        CURLcode rc;
        slot->ticked = 0;
        slot->tick_at_us = rx_now_us() + RX_SIGNAL_CHECK_US;
        Py_BEGIN_ALLOW_THREADS
        rc = rx_slot_run(slot, goal);
        Py_END_ALLOW_THREADS
        if (rc == CURLE_OK && slot->ticked) {
            /* a long wait: let Ctrl-C and other signal handlers run */
            if (PyErr_CheckSignals() < 0) {
                *py_failed = 1;
                return CURLE_ABORTED_BY_CALLBACK;
            }
            continue;
        }
        if (rc != CURLE_OK || !slot->up_wanted || slot->done) {
            return rc;
        }
        if (feed_upload(slot) < 0) {
            *py_failed = 1;
            return CURLE_ABORTED_BY_CALLBACK;
        }
    }
}

/* The six timings as 48 bytes of native doubles: one allocation per request;
 * Python unpacks them (struct "6d") only if someone asks. */
static PyObject *timings_bytes(rx_slot *slot)
{
    double t[6];
    rx_slot_timings(slot, t);
    return PyBytes_FromStringAndSize((const char *)t, sizeof(t));
}

/* Seconds as a float to libcurl's units; <= 0 means no limit. */
static int seconds_arg(PyObject *obj, double *out)
{
    *out = PyFloat_AsDouble(obj);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
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
        rc = drive(slot, RX_UNTIL_BODY, &py_failed);
        self->busy = 0;
    }
    size_t lent_len = slot->lent.len;
    slot->lent = (rx_buffer){0};
    if (py_failed || rc != CURLE_OK) {
        Py_XDECREF(lent);
        if (!py_failed) {
            raise_transfer_error(get_state(PyType_GetModule(defining_class)), slot, rc);
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

static PyMethodDef Stream_methods[] = {
    {"read", (PyCFunction)(void (*)(void))Stream_read, METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "read() -> bytes: the body bytes that have arrived (b'' at the end)."},
    {"close", (PyCFunction)Stream_close, METH_NOARGS, "Abort the transfer if still running."},
    {"timings", (PyCFunction)Stream_timings, METH_NOARGS, "libcurl's phase timings so far."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Stream_getset[] = {
    {"finished", (getter)Stream_get_finished, NULL, "True once the whole body was read.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Stream_slots[] = {
    {Py_tp_dealloc, Stream_dealloc},
    {Py_tp_methods, Stream_methods},
    {Py_tp_getset, Stream_getset},
    {Py_tp_doc, "A response body that is still arriving."},
    {0, NULL},
};

static PyType_Spec Stream_spec = {
    .name = "requestx._engine.Stream",
    .basicsize = sizeof(StreamObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Stream_slots,
};

/*** Client.perform ***/

/* perform(method, url, headers, body, connect_timeout, read_timeout, settings, stream)
 *   -> (status, http_version, raw_headers, body_or_stream, timings, flags) */
static PyObject *Client_perform(ClientObject *self, PyTypeObject *defining_class,
                                PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 8 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "perform() takes exactly 8 positional arguments");
        return NULL;
    }
    rx_state *state = get_state(PyType_GetModule(defining_class));
    PyObject *method = args[0], *url = args[1], *headers = args[2], *body = args[3];
    PyObject *settings = args[6];
    rx_request req = {0};
    double connect_timeout, read_timeout;

    req.method = PyUnicode_AsUTF8(method);
    req.url = req.method ? PyUnicode_AsUTF8(url) : NULL;
    if (req.url == NULL || seconds_arg(args[4], &connect_timeout) < 0 ||
        seconds_arg(args[5], &read_timeout) < 0) {
        return NULL;
    }
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
    req.stream = PyObject_IsTrue(args[7]);
    if (req.stream < 0) {
        return NULL;
    }
    if (connect_timeout > 0) {
        req.connect_timeout_ms = (long)(connect_timeout * 1000.0 + 0.5);
        if (req.connect_timeout_ms == 0) {
            req.connect_timeout_ms = 1;
        }
    }
    if (read_timeout > 0) {
        req.read_timeout_us = (int64_t)(read_timeout * 1e6);
    }

    rx_slot *slot = client_acquire(self);
    if (slot == NULL) {
        return NULL;
    }
    if (slot_set_headers(slot, headers) < 0 || slot_set_settings(slot, settings) < 0) {
        client_release(self, slot);
        return NULL;
    }
    req.headers = slot->headers;
    if (upload_iter != NULL) {
        Py_INCREF(upload_iter);
        slot->upload_iter = upload_iter;
    } else if (body != Py_None) {
        Py_INCREF(body);
        slot->body_key = body; /* POSTFIELDS is not copied: keep it alive */
        req.body = PyBytes_AS_STRING(body);
        req.body_len = (curl_off_t)PyBytes_GET_SIZE(body);
    }

    int py_failed = 0;
    CURLcode rc = rx_slot_start(slot, &req);
    if (rc == CURLE_OK) {
        rc = drive(slot, req.stream ? RX_UNTIL_HEADERS : RX_UNTIL_DONE, &py_failed);
    }
    if (py_failed) {
        client_release(self, slot);
        return NULL;
    }
    if (rc != CURLE_OK) {
        raise_transfer_error(state, slot, rc);
        client_release(self, slot);
        return NULL;
    }

    PyObject *result = NULL, *raw_headers = NULL, *payload = NULL, *timings = NULL;
    raw_headers = PyBytes_FromStringAndSize(slot->head.data, (Py_ssize_t)slot->head.len);
    if (raw_headers == NULL) {
        goto fail;
    }
    timings = timings_bytes(slot);
    if (timings == NULL) {
        goto fail;
    }
    int status = slot->status;
    int flags = rx_slot_flags(slot);
    int version = rx_slot_http_version(slot);
    if (req.stream) {
        payload = new_stream(state, self, slot);
        if (payload == NULL) {
            goto fail;
        }
        slot = NULL; /* owned by the stream now */
    } else {
        payload = PyBytes_FromStringAndSize(slot->body.data, (Py_ssize_t)slot->body.len);
        if (payload == NULL) {
            goto fail;
        }
        client_release(self, slot);
        slot = NULL;
    }
    result = PyTuple_New(6);
    if (result == NULL) {
        goto fail;
    }
    PyObject *status_obj = PyLong_FromLong(status);
    PyObject *version_obj = PyLong_FromLong(version);
    PyObject *flags_obj = PyLong_FromLong(flags);
    if (status_obj == NULL || version_obj == NULL || flags_obj == NULL) {
        Py_XDECREF(status_obj);
        Py_XDECREF(version_obj);
        Py_XDECREF(flags_obj);
        Py_DECREF(result);
        result = NULL;
        goto fail;
    }
    PyTuple_SET_ITEM(result, 0, status_obj);
    PyTuple_SET_ITEM(result, 1, version_obj);
    PyTuple_SET_ITEM(result, 2, raw_headers);
    PyTuple_SET_ITEM(result, 3, payload);
    PyTuple_SET_ITEM(result, 4, timings);
    PyTuple_SET_ITEM(result, 5, flags_obj);
    return result;

fail:
    Py_XDECREF(raw_headers);
    Py_XDECREF(payload);
    Py_XDECREF(timings);
    if (slot != NULL) {
        client_release(self, slot);
    }
    return NULL;
}

static PyObject *Client_close(ClientObject *self, PyObject *unused)
{
    (void)unused;
    client_check_fork(self);
    client_free_idle(self);
    rx_share_detach(self->share);
    self->share = NULL;
    Py_RETURN_NONE;
}

static PyObject *Client_get_idle(ClientObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->idle_count);
}

static PyMethodDef Client_methods[] = {
    {"perform", (PyCFunction)(void (*)(void))Client_perform,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "perform(method, url, headers, body, connect_timeout, read_timeout, settings, stream)"},
    {"close", (PyCFunction)Client_close, METH_NOARGS,
     "Close the pooled connections; the next request opens new ones."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Client_getset[] = {
    {"idle_handles", (getter)Client_get_idle, NULL, "Easy handles waiting in the pool.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Client_slots[] = {
    {Py_tp_new, Client_new},
    {Py_tp_dealloc, Client_dealloc},
    {Py_tp_methods, Client_methods},
    {Py_tp_getset, Client_getset},
    {Py_tp_doc, "A pool of libcurl handles sharing connections, DNS and TLS sessions."},
    {0, NULL},
};

static PyType_Spec Client_spec = {
    .name = "requestx._engine.Client",
    .basicsize = sizeof(ClientObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Client_slots,
};

/*** AsyncClient, Port, AsyncTransfer: the asyncio face of async_engine.h ***/

typedef struct {
    PyObject_HEAD
    rx_client *client;
    /* the header lines and settings of the last submit(), reused while the
     * caller passes the same tuple objects (kept alive here for that) */
    PyObject *headers_key;
    rx_shared_headers *headers;
    PyObject *settings_key;
    rx_shared_settings *settings;
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
    return PyObject_CallFunction(state->transfer_error, "isi", (int)x->result, x->error, x->phase);
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

/* (status, version, raw_headers, body_or_transfer, timings, sets_cookie) */
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

static PyMethodDef Port_methods[] = {
    {"fileno", (PyCFunction)Port_fileno, METH_NOARGS, "The eventfd to watch for readability."},
    {"drain", (PyCFunction)(void (*)(void))Port_drain, METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "Resolve the futures of every transfer with news."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Port_slots[] = {
    {Py_tp_new, Port_new},
    {Py_tp_dealloc, Port_dealloc},
    {Py_tp_methods, Port_methods},
    {Py_tp_doc, "The mailbox of one event loop: completions arrive through one eventfd."},
    {0, NULL},
};

static PyType_Spec Port_spec = {
    .name = "requestx._engine.Port",
    .basicsize = sizeof(PortObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Port_slots,
};

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
        PyObject *exc = transfer_error_object(get_state(PyType_GetModule(defining_class)), x);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
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

static PyMethodDef AsyncTransfer_methods[] = {
    {"cancel", (PyCFunction)AsyncTransfer_cancel, METH_NOARGS, "Stop the transfer."},
    {"take", (PyCFunction)(void (*)(void))AsyncTransfer_take,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS, "Body bytes that arrived, b'' at the end."},
    {"wait", (PyCFunction)AsyncTransfer_wait, METH_O, "Resolve this future on news."},
    {"feed", (PyCFunction)AsyncTransfer_feed, METH_O,
     "Add a piece of a streamed request body (b'' ends it): 0 go on, 1 wait, 2 over."},
    {"wait_upload", (PyCFunction)AsyncTransfer_wait_upload, METH_O,
     "Resolve this future when the body's producer may go on; False: go on now."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef AsyncTransfer_getset[] = {
    {"finished", (getter)AsyncTransfer_get_finished, NULL, "The body was read to its end.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot AsyncTransfer_slots[] = {
    {Py_tp_dealloc, AsyncTransfer_dealloc},
    {Py_tp_traverse, AsyncTransfer_traverse},
    {Py_tp_clear, AsyncTransfer_clear},
    {Py_tp_methods, AsyncTransfer_methods},
    {Py_tp_getset, AsyncTransfer_getset},
    {Py_tp_doc, "One request on the engine thread."},
    {0, NULL},
};

static PyType_Spec AsyncTransfer_spec = {
    .name = "requestx._engine.AsyncTransfer",
    .basicsize = sizeof(AsyncTransferObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = AsyncTransfer_slots,
};

static PyObject *AsyncClient_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"max_connections", "max_connections_per_host", "http2", NULL};
    int max_total = 100, max_per_host = 0, http2 = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|iip:AsyncClient", kwlist, &max_total,
                                     &max_per_host, &http2)) {
        return NULL;
    }
    AsyncClientObject *self = (AsyncClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->client = rx_client_new(max_total, max_per_host, http2);
    if (self->client == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void async_client_release(AsyncClientObject *self)
{
    if (self->client == NULL) {
        return;
    }
    if (rx_the_engine.started && rx_the_engine.pid == rx_getpid()) {
        rx_engine_send(RX_CMD_CLOSE_CLIENT, NULL, self->client);
    } else {
        pthread_mutex_lock(&rx_the_engine.lock);
        rx_client_unref(self->client);
        pthread_mutex_unlock(&rx_the_engine.lock);
    }
    self->client = NULL;
}

static void AsyncClient_dealloc(AsyncClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    async_client_release(self);
    Py_CLEAR(self->headers_key);
    rx_shared_headers_unref(self->headers);
    Py_CLEAR(self->settings_key);
    rx_shared_settings_unref(self->settings);
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
static rx_shared_headers *client_headers(AsyncClientObject *self, PyObject *headers)
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

/* The shared settings for a settings tuple (see slot_set_settings), cached
 * the same way. Returns a new reference, or NULL with an error. */
static rx_shared_settings *client_settings(AsyncClientObject *self, PyObject *settings)
{
    if (settings != self->settings_key || self->settings == NULL) {
        rx_shared_settings *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        c->refs = 1;
        c->id = __atomic_add_fetch(&rx_settings_last_id, 1, __ATOMIC_RELAXED);
        if (parse_settings(settings, &c->st) < 0) {
            free(c);
            return NULL;
        }
        /* own copies of the strings, which the tuple only lends */
        const char **fields[RX_SETTINGS_STRINGS] = {
            &c->st.ca_info, &c->st.ca_path,   &c->st.cert,        &c->st.key,
            &c->st.proxy,   &c->st.interface, &c->st.unix_socket,
        };
        for (int i = 0; i < RX_SETTINGS_STRINGS; i++) {
            if (*fields[i] != NULL && (c->strings[i] = strdup(*fields[i])) == NULL) {
                rx_shared_settings_unref(c);
                PyErr_NoMemory();
                return NULL;
            }
            *fields[i] = c->strings[i];
        }
        rx_shared_settings_unref(self->settings);
        self->settings = c;
        Py_XSETREF(self->settings_key, Py_NewRef(settings));
    }
    __atomic_add_fetch(&self->settings->refs, 1, __ATOMIC_RELAXED);
    return self->settings;
}

/* submit(port, future, method, url, host, headers, body, connect_timeout,
 *        read_timeout, settings, stream) -> AsyncTransfer
 * body: bytes, None, or an int: the announced length (-1: unknown, sent
 * chunked) of a body the caller then streams with AsyncTransfer.feed(). */
static PyObject *AsyncClient_submit(AsyncClientObject *self, PyTypeObject *defining_class,
                                    PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 11 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "submit() takes exactly 11 positional arguments");
        return NULL;
    }
    rx_state *state = get_state(PyType_GetModule(defining_class));
    if (self->client == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the session is closed");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], state->port_type)) {
        PyErr_SetString(PyExc_TypeError, "port must be a Port");
        return NULL;
    }
    PyObject *headers = args[5], *body = args[6], *settings = args[9];
    double connect_timeout, read_timeout;
    if (seconds_arg(args[7], &connect_timeout) < 0 || seconds_arg(args[8], &read_timeout) < 0) {
        return NULL;
    }
    int stream = PyObject_IsTrue(args[10]);
    if (stream < 0) {
        return NULL;
    }
    if (body != Py_None && !PyBytes_Check(body) && !PyLong_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "body must be bytes, None or a streamed body's length");
        return NULL;
    }
    /* method, url and host are copied into the transfer's own allocation */
    const char *texts[3];
    Py_ssize_t lens[3];
    for (int i = 0; i < 3; i++) {
        if ((texts[i] = PyUnicode_AsUTF8AndSize(args[2 + i], &lens[i])) == NULL) {
            return NULL;
        }
    }
    /* [rx_xfer][rx_xfer_stream, for a stream or a streamed body][strings] */
    int has_stream = stream || PyLong_Check(body);
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
    if (headers != Py_None && (x->headers = client_headers(self, headers)) == NULL) {
        goto fail;
    }
    if ((x->settings = client_settings(self, settings)) == NULL) {
        goto fail;
    }
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
    if (connect_timeout > 0) {
        x->connect_timeout_ms = (long)(connect_timeout * 1000.0 + 0.5);
        if (x->connect_timeout_ms == 0) {
            x->connect_timeout_ms = 1;
        }
    }
    if (read_timeout > 0) {
        x->read_timeout_us = (int64_t)(read_timeout * 1e6);
    }
    x->stream = stream;

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
    if (rx_client_check_fork(self->client) < 0) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        x->pid = rx_getpid();
        t->xfer = NULL;
        Py_DECREF(t);
        rx_xfer_free_request(x);
        free(x);
        return PyErr_NoMemory();
    }
    x->pid = rx_getpid();
    x->client = self->client;
    x->client->refs++;
    x->port = ((PortObject *)args[0])->port;
    x->port->refs++;
    pthread_mutex_unlock(&rx_the_engine.lock);
    x->pyobj = Py_NewRef(t); /* the engine's reference, dropped by Port.drain */
    t->xfer = x;
    if (rx_engine_send(RX_CMD_SUBMIT, x, NULL) < 0) {
        Py_DECREF(t); /* the engine's */
        x->pyobj = NULL;
        Py_DECREF(t); /* disposes x */
        PyErr_SetString(PyExc_OSError, "could not start the requestx engine thread");
        return NULL;
    }
    return (PyObject *)t;

fail:
    rx_xfer_free_request(x);
    free(x);
    return NULL;
}

static PyMethodDef AsyncClient_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))AsyncClient_submit,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "submit(port, future, method, url, host, headers, body, connect_timeout, read_timeout, "
     "settings, stream) -> AsyncTransfer"},
    {"close", (PyCFunction)AsyncClient_close, METH_NOARGS,
     "Close the pooled connections once in-flight transfers end."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot AsyncClient_slots[] = {
    {Py_tp_new, AsyncClient_new},
    {Py_tp_dealloc, AsyncClient_dealloc},
    {Py_tp_methods, AsyncClient_methods},
    {Py_tp_doc, "A connection pool with limits, driven by the engine thread."},
    {0, NULL},
};

static PyType_Spec AsyncClient_spec = {
    .name = "requestx._engine.AsyncClient",
    .basicsize = sizeof(AsyncClientObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = AsyncClient_slots,
};

/*** SSEParser: sse.h for Python ***/

typedef struct {
    PyObject_HEAD
    rx_sse parser;
    PyObject *out; /* the list feed() is filling */
} SSEParserObject;

/* SSEParser(last_event_id="") : a reconnected stream carries the id on. */
static PyObject *SSEParser_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"last_event_id", NULL};
    const char *last_id = "";
    Py_ssize_t last_id_len = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|s#:SSEParser", kwlist, &last_id,
                                     &last_id_len)) {
        return NULL;
    }
    SSEParserObject *self = (SSEParserObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    rx_sse_init(&self->parser);
    if (rx_buffer_append(&self->parser.id, last_id, (size_t)last_id_len) < 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static void SSEParser_dealloc(SSEParserObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    rx_sse_free(&self->parser);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *utf8_text(const rx_buffer *b)
{
    return PyUnicode_DecodeUTF8(b->data ? b->data : "", (Py_ssize_t)b->len, "replace");
}

static int sse_emit(void *ctx, const rx_sse *p, int has_retry)
{
    SSEParserObject *self = ctx;
    PyObject *event = p->event.len ? utf8_text(&p->event) : PyUnicode_FromString("message");
    PyObject *data = event ? utf8_text(&p->data) : NULL;
    PyObject *id = data ? utf8_text(&p->id) : NULL;
    PyObject *retry = NULL;
    if (id != NULL) {
        retry = has_retry ? PyLong_FromLongLong(p->retry) : Py_NewRef(Py_None);
    }
    PyObject *item = retry ? PyTuple_Pack(4, event, data, id, retry) : NULL;
    Py_XDECREF(event);
    Py_XDECREF(data);
    Py_XDECREF(id);
    Py_XDECREF(retry);
    if (item == NULL) {
        return -1;
    }
    int rc = PyList_Append(self->out, item);
    Py_DECREF(item);
    return rc;
}

/* feed(bytes) -> [(event, data, id, retry), ...]: the events these bytes complete. */
static PyObject *SSEParser_feed(SSEParserObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    self->out = out;
    int rc = rx_sse_feed(&self->parser, view.buf, (size_t)view.len, sse_emit, self);
    self->out = NULL;
    PyBuffer_Release(&view);
    if (rc < 0) {
        Py_DECREF(out);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return out;
}

static PyObject *SSEParser_get_last_event_id(SSEParserObject *self, void *closure)
{
    return utf8_text(&self->parser.id);
}

static PyMethodDef SSEParser_methods[] = {
    {"feed", (PyCFunction)SSEParser_feed, METH_O,
     "feed(bytes) -> list of (event, data, id, retry) completed by these bytes."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef SSEParser_getset[] = {
    {"last_event_id", (getter)SSEParser_get_last_event_id, NULL, "The last event id seen.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot SSEParser_slots[] = {
    {Py_tp_new, SSEParser_new},
    {Py_tp_dealloc, SSEParser_dealloc},
    {Py_tp_methods, SSEParser_methods},
    {Py_tp_getset, SSEParser_getset},
    {Py_tp_doc, "An incremental server-sent events parser (WHATWG event-stream rules)."},
    {0, NULL},
};

static PyType_Spec SSEParser_spec = {
    .name = "requestx._engine.SSEParser",
    .basicsize = sizeof(SSEParserObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = SSEParser_slots,
};

/*** Module ***/

static PyObject *engine_curl_version(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(curl_version());
}

/* features() -> frozenset of what this libcurl can do that requestx uses. */
static PyObject *engine_features(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    static const struct {
        int bit;
        const char *name;
    } known[] = {
        {CURL_VERSION_LIBZ, "gzip"}, {CURL_VERSION_BROTLI, "br"},
        {CURL_VERSION_ZSTD, "zstd"}, {CURL_VERSION_HTTP2, "http2"},
        {CURL_VERSION_SSL, "ssl"},   {CURL_VERSION_HTTPS_PROXY, "https-proxy"},
        {CURL_VERSION_IDN, "idn"},   {CURL_VERSION_THREADSAFE, "threadsafe"},
    };
    PyObject *names = PySet_New(NULL);
    if (names == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!(info->features & known[i].bit)) {
            continue;
        }
        PyObject *name = PyUnicode_FromString(known[i].name);
        if (name == NULL || PySet_Add(names, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(names);
            return NULL;
        }
        Py_DECREF(name);
    }
    PyObject *frozen = PyFrozenSet_New(names);
    Py_DECREF(names);
    return frozen;
}

static int engine_exec(PyObject *module)
{
    rx_state *state = get_state(module);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        PyErr_SetString(PyExc_ImportError, "libcurl failed to initialise");
        return -1;
    }
    if (rx_default_ca_info == NULL && rx_default_ca_path == NULL) {
        rx_read_default_ca();
    }
    state->client_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Client_spec, NULL);
    if (state->client_type == NULL || PyModule_AddType(module, state->client_type) < 0) {
        return -1;
    }
    state->stream_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Stream_spec, NULL);
    if (state->stream_type == NULL || PyModule_AddType(module, state->stream_type) < 0) {
        return -1;
    }
    state->async_client_type =
        (PyTypeObject *)PyType_FromModuleAndSpec(module, &AsyncClient_spec, NULL);
    if (state->async_client_type == NULL ||
        PyModule_AddType(module, state->async_client_type) < 0) {
        return -1;
    }
    state->port_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Port_spec, NULL);
    if (state->port_type == NULL || PyModule_AddType(module, state->port_type) < 0) {
        return -1;
    }
    state->async_transfer_type =
        (PyTypeObject *)PyType_FromModuleAndSpec(module, &AsyncTransfer_spec, NULL);
    if (state->async_transfer_type == NULL ||
        PyModule_AddType(module, state->async_transfer_type) < 0) {
        return -1;
    }
    state->sse_parser_type =
        (PyTypeObject *)PyType_FromModuleAndSpec(module, &SSEParser_spec, NULL);
    if (state->sse_parser_type == NULL || PyModule_AddType(module, state->sse_parser_type) < 0) {
        return -1;
    }
    state->pending_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Pending_spec, NULL);
    if (state->pending_type == NULL || PyModule_AddType(module, state->pending_type) < 0) {
        return -1;
    }
    state->str_throw = PyUnicode_InternFromString("throw");
    state->str_close = PyUnicode_InternFromString("close");
    state->str_cancel = PyUnicode_InternFromString("cancel");
    if (!state->str_throw || !state->str_close || !state->str_cancel) {
        return -1;
    }
    state->str_cancelled = PyUnicode_InternFromString("cancelled");
    state->str_set_result = PyUnicode_InternFromString("set_result");
    state->str_set_exception = PyUnicode_InternFromString("set_exception");
    if (!state->str_cancelled || !state->str_set_result || !state->str_set_exception) {
        return -1;
    }
    static int atfork_registered = 0; /* process-wide, like the engine itself */
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, rx_engine_atfork_child);
        atfork_registered = 1;
    }
    state->transfer_error = PyErr_NewExceptionWithDoc(
        "requestx._engine.TransferError",
        "A libcurl transfer failed: args are (curl_code, message, phase).", NULL, NULL);
    if (state->transfer_error == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "TransferError", state->transfer_error) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(module, "PHASE_CONNECT", RX_PHASE_CONNECT) < 0 ||
        PyModule_AddIntConstant(module, "PHASE_WAIT", RX_PHASE_WAIT) < 0 ||
        PyModule_AddIntConstant(module, "PHASE_BODY", RX_PHASE_BODY) < 0 ||
        PyModule_AddIntConstant(module, "HTTP_VERSION_1_1", CURL_HTTP_VERSION_1_1) < 0 ||
        PyModule_AddIntConstant(module, "HTTP_VERSION_2", CURL_HTTP_VERSION_2TLS) < 0 ||
        PyModule_AddIntConstant(module, "HTTP_VERSION_2_PRIOR_KNOWLEDGE",
                                CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) < 0) {
        return -1;
    }
    return 0;
}

static int engine_traverse(PyObject *module, visitproc visit, void *arg)
{
    rx_state *state = get_state(module);
    Py_VISIT(state->client_type);
    Py_VISIT(state->stream_type);
    Py_VISIT(state->async_client_type);
    Py_VISIT(state->port_type);
    Py_VISIT(state->async_transfer_type);
    Py_VISIT(state->sse_parser_type);
    Py_VISIT(state->transfer_error);
    Py_VISIT(state->pending_type);
    Py_VISIT(state->pending_start);
    Py_VISIT(state->pending_done);
    Py_VISIT(state->pending_failed);
    return 0;
}

static int engine_clear(PyObject *module)
{
    rx_state *state = get_state(module);
    Py_CLEAR(state->client_type);
    Py_CLEAR(state->stream_type);
    Py_CLEAR(state->async_client_type);
    Py_CLEAR(state->port_type);
    Py_CLEAR(state->async_transfer_type);
    Py_CLEAR(state->sse_parser_type);
    Py_CLEAR(state->transfer_error);
    Py_CLEAR(state->str_cancelled);
    Py_CLEAR(state->str_set_result);
    Py_CLEAR(state->str_set_exception);
    Py_CLEAR(state->pending_type);
    Py_CLEAR(state->pending_start);
    Py_CLEAR(state->pending_done);
    Py_CLEAR(state->pending_failed);
    Py_CLEAR(state->str_throw);
    Py_CLEAR(state->str_close);
    Py_CLEAR(state->str_cancel);
    return 0;
}

static void engine_free(void *module)
{
    engine_clear((PyObject *)module);
}

/* set_pending_hooks(start, done, failed): the Python steps of Pending. */
static PyObject *engine_set_pending_hooks(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "set_pending_hooks() takes 3 arguments");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        if (!PyCallable_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "the hooks must be callable");
            return NULL;
        }
    }
    rx_state *state = get_state(module);
    Py_XSETREF(state->pending_start, Py_NewRef(args[0]));
    Py_XSETREF(state->pending_done, Py_NewRef(args[1]));
    Py_XSETREF(state->pending_failed, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

static PyMethodDef engine_methods[] = {
    {"set_pending_hooks", (PyCFunction)(void (*)(void))engine_set_pending_hooks, METH_FASTCALL,
     "Set the Python steps of Pending: start, done, failed."},
    {"curl_version", engine_curl_version, METH_NOARGS, "libcurl's version string."},
    {"features", engine_features, METH_NOARGS, "What this libcurl supports, as a frozenset."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot engine_slots[] = {
    {Py_mod_exec, engine_exec},
    {0, NULL},
};

static struct PyModuleDef engine_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "requestx._engine",
    .m_doc = "The libcurl engine under requestx.",
    .m_size = sizeof(rx_state),
    .m_methods = engine_methods,
    .m_slots = engine_slots,
    .m_traverse = engine_traverse,
    .m_clear = engine_clear,
    .m_free = engine_free,
};

PyMODINIT_FUNC PyInit__engine(void)
{
    return PyModuleDef_Init(&engine_module);
}
