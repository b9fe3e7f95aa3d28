/* requestx._engine: the C engine under requestx.
 *
 * One translation unit. This file only wires: the method tables and type
 * specs of every type, the module's constants, exec/traverse/clear. The work
 * is in headers with one concern each, included in this order:
 *
 *   state.h        module state, the one TransferError constructor
 *   process.h      what exists once per process (engine, pid, default CA, fork)
 *   buffer.h       a growable byte buffer          share.h   libcurl's share handle
 *   easy.h         the slot: an easy handle, its callbacks, start and settings
 *   stats.h        the aggregates of stats=True (histograms, counters), Stats
 *   pool.h         idle slots and the fork check, for both drivers
 *   request.h      the Python -> C boundary: Settings, header lists, arguments
 *   sync.h         the sync driver (a private multi per slot)
 *   lend.h         bytes objects a fast stream is written into
 *   sync_types.h   Client, Stream
 *   xfer.h         an async transfer's life cycle, the async pool and its limits
 *   port.h         an event loop's mailbox
 *   loop.h         the engine thread (epoll, timer, commands)
 *   async_types.h  AsyncClient, Port, AsyncTransfer
 *   sse.h          the server-sent events parser     pending.h  Pending
 *   ws.h           WebSocket: frames and whole messages
 *
 * The result of Client.perform() and of an AsyncTransfer's future is a
 * 6-tuple, by position:
 *
 *   0 status        int, the final response's status code
 *   1 http_version  int: 10, 11, 20 or 30
 *   2 raw_headers   bytes, the final response's header block as received
 *   3 body          bytes; with stream=True the Stream or AsyncTransfer
 *   4 timings       bytes, eight native doubles (struct "8d"): namelookup,
 *                   connect, appconnect, pretransfer, starttransfer, total,
 *                   queue (the wait for a connection slot), connections opened
 *   5 flags         int, FLAG_* bits (RX_FLAG_* in easy.h)
 *
 * Failures raise TransferError(curl_code, message, phase) (state.h).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "state.h"
#include "process.h"
#include "easy.h"
#include "stats.h"
#include "pool.h"
#include "request.h"
#include "sync.h"
#include "sync_types.h"
#include "xfer.h"
#include "port.h"
#include "loop.h"
#include "async_types.h"
#include "sse.h"
#include "pending.h"
#include "ws.h"

/*** Settings ***/

static PyGetSetDef Settings_getset[] = {
    {"http_version", (getter)Settings_get, NULL, "CURL_HTTP_VERSION_* (HTTP_VERSION_*).",
     (void *)0},
    {"verify", (getter)Settings_get, NULL, "Verify the peer's certificate and name.", (void *)1},
    {"ca_info", (getter)Settings_get, NULL, "A CA bundle file, or None.", (void *)2},
    {"ca_path", (getter)Settings_get, NULL, "A CA directory, or None.", (void *)3},
    {"cert", (getter)Settings_get, NULL, "A client certificate file, or None.", (void *)4},
    {"key", (getter)Settings_get, NULL, "The client certificate's key file, or None.", (void *)5},
    {"proxy", (getter)Settings_get, NULL, "The proxy URL, or None (never the environment's).",
     (void *)6},
    {"decode", (getter)Settings_get, NULL, "Undo Content-Encoding.", (void *)7},
    {"interface", (getter)Settings_get, NULL, "The local address to bind, or None.", (void *)8},
    {"unix_socket", (getter)Settings_get, NULL, "A Unix socket to connect to, or None.", (void *)9},
    {"resend_unsafe", (getter)Settings_get, NULL,
     "Re-send a non-idempotent request whose reused connection died before any response.",
     (void *)10},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Settings_slots[] = {
    {Py_tp_new, Settings_new},
    {Py_tp_dealloc, Settings_dealloc},
    {Py_tp_repr, Settings_repr},
    {Py_tp_getset, Settings_getset},
    {Py_tp_doc,
     "Settings(http_version, verify, ca_info, ca_path, cert, key, proxy, decode, "
     "interface, unix_socket, resend_unsafe=False): one configuration of TLS, proxy, HTTP version, "
     "decoding and local address, built once and passed to perform() and submit(). "
     "Compared and hashed by identity."},
    {0, NULL},
};

static PyType_Spec Settings_spec = {
    .name = "requestx._engine.Settings",
    .basicsize = sizeof(SettingsObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Settings_slots,
};

/*** Stats ***/

static PyMethodDef Stats_methods[] = {
    {"snapshot", (PyCFunction)Stats_snapshot, METH_NOARGS,
     "snapshot() -> {'bounds', 'origins', 'series', 'counters'}: the aggregates, copied."},
    {"count", (PyCFunction)Stats_count, METH_VARARGS,
     "count(kind, origin, label, value): add to a counter (STAT_STATE: set the gauge)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Stats_slots[] = {
    {Py_tp_new, Stats_new},
    {Py_tp_dealloc, Stats_dealloc},
    {Py_tp_methods, Stats_methods},
    {Py_tp_doc, "Stats(max_origins=1000): request aggregates a Client or AsyncClient keeps, "
                "updated by the engine as transfers end."},
    {0, NULL},
};

static PyType_Spec Stats_spec = {
    .name = "requestx._engine.Stats",
    .basicsize = sizeof(StatsObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Stats_slots,
};

/*** Client, Stream ***/

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

static PyMethodDef Client_methods[] = {
    {"perform", (PyCFunction)(void (*)(void))Client_perform,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "perform(method, url, headers, body, connect_timeout, read_timeout, total_timeout, "
     "settings, stream)\n"
     "-> (status, http_version, raw_headers, body_or_stream, timings, flags)"},
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
    {Py_tp_doc, "Client(*, stats=None): a pool of libcurl handles sharing connections, DNS and "
                "TLS sessions; a Stats given is updated as its transfers end."},
    {0, NULL},
};

static PyType_Spec Client_spec = {
    .name = "requestx._engine.Client",
    .basicsize = sizeof(ClientObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Client_slots,
};

/*** AsyncClient, Port, AsyncTransfer ***/

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

static PyMethodDef AsyncClient_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))AsyncClient_submit,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "submit(port, future, method, url, host, headers, body, connect_timeout, read_timeout, "
     "total_timeout, settings, stream) -> AsyncTransfer"},
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
        {CURL_VERSION_LIBZ, "gzip"},   {CURL_VERSION_BROTLI, "br"},
        {CURL_VERSION_ZSTD, "zstd"},   {CURL_VERSION_HTTP2, "http2"},
        {CURL_VERSION_SSL, "ssl"},     {CURL_VERSION_HTTPS_PROXY, "https-proxy"},
        {CURL_VERSION_IDN, "idn"},     {CURL_VERSION_THREADSAFE, "threadsafe"},
        {CURL_VERSION_HTTP3, "http3"}, {CURL_VERSION_ALTSVC, "alt-svc"},
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
    /* WebSocket support has no feature bit: it shows as the ws protocol */
    for (const char *const *proto = info->protocols; proto != NULL && *proto != NULL; proto++) {
        if (RX_WS_BUILT && strcmp(*proto, "ws") == 0) {
            PyObject *name = PyUnicode_FromString("websockets");
            if (name == NULL || PySet_Add(names, name) < 0) {
                Py_XDECREF(name);
                Py_DECREF(names);
                return NULL;
            }
            Py_DECREF(name);
        }
    }
    PyObject *frozen = PyFrozenSet_New(names);
    Py_DECREF(names);
    return frozen;
}

/* default_ca() -> (file or None, directory or None): the CA certificates
 * verify=True uses (process.h). */
static PyObject *engine_default_ca(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return Py_BuildValue("(zz)", rx_default_ca_info, rx_default_ca_path);
}

/* The constants Python reads instead of copying: libcurl's codes that the
 * error tables name (requestx.exceptions, requestx.transports._errors), the
 * result's flags, the phases and the HTTP versions Settings take. */
#define RX_CONSTANT(name, value)                                                                   \
    {                                                                                              \
        name, (long)(value)                                                                        \
    }
static const struct {
    const char *name;
    long value;
} engine_constants[] = {
    RX_CONSTANT("FLAG_SETS_COOKIE", RX_FLAG_SETS_COOKIE),
    RX_CONSTANT("FLAG_LENGTH_CONFLICT", RX_FLAG_LENGTH_CONFLICT),
    RX_CONSTANT("FLAG_RESENT", RX_FLAG_RESENT),
    RX_CONSTANT("STAT_RETRY", RX_STAT_RETRY),
    RX_CONSTANT("STAT_RESEND", RX_STAT_RESEND),
    RX_CONSTANT("STAT_TRANSITION", RX_STAT_TRANSITION),
    RX_CONSTANT("STAT_STATE", RX_STAT_STATE),
    RX_CONSTANT("PHASE_CONNECT", RX_PHASE_CONNECT),
    RX_CONSTANT("PHASE_WAIT", RX_PHASE_WAIT),
    RX_CONSTANT("PHASE_BODY", RX_PHASE_BODY),
    RX_CONSTANT("HTTP_VERSION_1_1", CURL_HTTP_VERSION_1_1),
    RX_CONSTANT("HTTP_VERSION_2", CURL_HTTP_VERSION_2TLS),
    RX_CONSTANT("HTTP_VERSION_2_PRIOR_KNOWLEDGE", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE),
    RX_CONSTANT("HTTP_VERSION_3", CURL_HTTP_VERSION_3),
    RX_CONSTANT("HTTP_VERSION_3_ONLY", CURL_HTTP_VERSION_3ONLY),
    RX_CONSTANT("CURLE_OK", CURLE_OK),
    RX_CONSTANT("CURLE_UNSUPPORTED_PROTOCOL", CURLE_UNSUPPORTED_PROTOCOL),
    RX_CONSTANT("CURLE_FAILED_INIT", CURLE_FAILED_INIT),
    RX_CONSTANT("CURLE_URL_MALFORMAT", CURLE_URL_MALFORMAT),
    RX_CONSTANT("CURLE_COULDNT_RESOLVE_PROXY", CURLE_COULDNT_RESOLVE_PROXY),
    RX_CONSTANT("CURLE_COULDNT_RESOLVE_HOST", CURLE_COULDNT_RESOLVE_HOST),
    RX_CONSTANT("CURLE_COULDNT_CONNECT", CURLE_COULDNT_CONNECT),
    RX_CONSTANT("CURLE_WEIRD_SERVER_REPLY", CURLE_WEIRD_SERVER_REPLY),
    RX_CONSTANT("CURLE_HTTP2", CURLE_HTTP2),
    RX_CONSTANT("CURLE_PARTIAL_FILE", CURLE_PARTIAL_FILE),
    RX_CONSTANT("CURLE_TOO_LARGE", RX_CURLE_TOO_LARGE),
    RX_CONSTANT("CURLE_WRITE_ERROR", CURLE_WRITE_ERROR),
    RX_CONSTANT("CURLE_OUT_OF_MEMORY", CURLE_OUT_OF_MEMORY),
    RX_CONSTANT("CURLE_OPERATION_TIMEDOUT", CURLE_OPERATION_TIMEDOUT),
    RX_CONSTANT("CURLE_SSL_CONNECT_ERROR", CURLE_SSL_CONNECT_ERROR),
    RX_CONSTANT("CURLE_ABORTED_BY_CALLBACK", CURLE_ABORTED_BY_CALLBACK),
    RX_CONSTANT("CURLE_TOO_MANY_REDIRECTS", CURLE_TOO_MANY_REDIRECTS),
    RX_CONSTANT("CURLE_GOT_NOTHING", CURLE_GOT_NOTHING),
    RX_CONSTANT("CURLE_SSL_ENGINE_NOTFOUND", CURLE_SSL_ENGINE_NOTFOUND),
    RX_CONSTANT("CURLE_SEND_ERROR", CURLE_SEND_ERROR),
    RX_CONSTANT("CURLE_RECV_ERROR", CURLE_RECV_ERROR),
    RX_CONSTANT("CURLE_SSL_CERTPROBLEM", CURLE_SSL_CERTPROBLEM),
    RX_CONSTANT("CURLE_SSL_CIPHER", CURLE_SSL_CIPHER),
    RX_CONSTANT("CURLE_PEER_FAILED_VERIFICATION", CURLE_PEER_FAILED_VERIFICATION),
    RX_CONSTANT("CURLE_BAD_CONTENT_ENCODING", CURLE_BAD_CONTENT_ENCODING),
    RX_CONSTANT("CURLE_SSL_CACERT_BADFILE", CURLE_SSL_CACERT_BADFILE),
    RX_CONSTANT("CURLE_SSL_SHUTDOWN_FAILED", CURLE_SSL_SHUTDOWN_FAILED),
    RX_CONSTANT("CURLE_SSL_CRL_BADFILE", CURLE_SSL_CRL_BADFILE),
    RX_CONSTANT("CURLE_SSL_ISSUER_ERROR", CURLE_SSL_ISSUER_ERROR),
    RX_CONSTANT("CURLE_HTTP2_STREAM", CURLE_HTTP2_STREAM),
    RX_CONSTANT("CURLE_PROXY", CURLE_PROXY),
    RX_CONSTANT("CURLE_SSL_CLIENTCERT", CURLE_SSL_CLIENTCERT),
    RX_CONSTANT("CURLE_HTTP3", CURLE_HTTP3),
    RX_CONSTANT("CURLE_QUIC_CONNECT_ERROR", CURLE_QUIC_CONNECT_ERROR),
};

/* A heap type from ``spec`` into *out, added to the module. 0 or -1. */
static int engine_add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **out)
{
    *out = (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
    return (*out == NULL || PyModule_AddType(module, *out) < 0) ? -1 : 0;
}

static int engine_exec(PyObject *module)
{
    rx_state *state = get_state(module);
    if (rx_process_init() < 0) {
        PyErr_SetString(PyExc_ImportError, "libcurl failed to initialise");
        return -1;
    }
    if (engine_add_type(module, &Settings_spec, &state->settings_type) < 0 ||
        engine_add_type(module, &Client_spec, &state->client_type) < 0 ||
        engine_add_type(module, &Stream_spec, &state->stream_type) < 0 ||
        engine_add_type(module, &AsyncClient_spec, &state->async_client_type) < 0 ||
        engine_add_type(module, &Port_spec, &state->port_type) < 0 ||
        engine_add_type(module, &AsyncTransfer_spec, &state->async_transfer_type) < 0 ||
        engine_add_type(module, &SSEParser_spec, &state->sse_parser_type) < 0 ||
        engine_add_type(module, &Pending_spec, &state->pending_type) < 0 ||
        engine_add_type(module, &Stats_spec, &state->stats_type) < 0 ||
        engine_add_type(module, &WebSocket_spec, &state->websocket_type) < 0) {
        return -1;
    }
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&state->str_cancelled, "cancelled"},
        {&state->str_set_result, "set_result"},
        {&state->str_set_exception, "set_exception"},
        {&state->str_throw, "throw"},
        {&state->str_close, "close"},
        {&state->str_cancel, "cancel"},
        {&state->str_pending_start, "_pending_start"},
        {&state->str_pending_done, "_pending_done"},
        {&state->str_pending_failed, "_pending_failed"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL) {
            return -1;
        }
    }
    state->transfer_error = PyErr_NewExceptionWithDoc(
        "requestx._engine.TransferError",
        "A libcurl transfer failed: args are (curl_code, message, phase).", NULL, NULL);
    if (state->transfer_error == NULL ||
        PyModule_AddObjectRef(module, "TransferError", state->transfer_error) < 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(engine_constants) / sizeof(engine_constants[0]); i++) {
        if (PyModule_AddIntConstant(module, engine_constants[i].name, engine_constants[i].value) <
            0) {
            return -1;
        }
    }
    return 0;
}

static int engine_traverse(PyObject *module, visitproc visit, void *arg)
{
    rx_state *state = get_state(module);
    Py_VISIT(state->settings_type);
    Py_VISIT(state->client_type);
    Py_VISIT(state->stream_type);
    Py_VISIT(state->async_client_type);
    Py_VISIT(state->port_type);
    Py_VISIT(state->async_transfer_type);
    Py_VISIT(state->sse_parser_type);
    Py_VISIT(state->websocket_type);
    Py_VISIT(state->pending_type);
    Py_VISIT(state->stats_type);
    Py_VISIT(state->transfer_error);
    return 0;
}

static int engine_clear(PyObject *module)
{
    rx_state *state = get_state(module);
    Py_CLEAR(state->settings_type);
    Py_CLEAR(state->client_type);
    Py_CLEAR(state->stream_type);
    Py_CLEAR(state->async_client_type);
    Py_CLEAR(state->port_type);
    Py_CLEAR(state->async_transfer_type);
    Py_CLEAR(state->sse_parser_type);
    Py_CLEAR(state->websocket_type);
    Py_CLEAR(state->pending_type);
    Py_CLEAR(state->stats_type);
    Py_CLEAR(state->transfer_error);
    Py_CLEAR(state->str_cancelled);
    Py_CLEAR(state->str_set_result);
    Py_CLEAR(state->str_set_exception);
    Py_CLEAR(state->str_throw);
    Py_CLEAR(state->str_close);
    Py_CLEAR(state->str_cancel);
    Py_CLEAR(state->str_pending_start);
    Py_CLEAR(state->str_pending_done);
    Py_CLEAR(state->str_pending_failed);
    return 0;
}

static void engine_free(void *module)
{
    engine_clear((PyObject *)module);
}

static PyMethodDef engine_methods[] = {
    {"curl_version", engine_curl_version, METH_NOARGS, "libcurl's version string."},
    {"features", engine_features, METH_NOARGS, "What this libcurl supports, as a frozenset."},
    {"default_ca", engine_default_ca, METH_NOARGS, "The CA file and directory verify=True uses."},
    {NULL, NULL, 0, NULL},
};

/* One engine per process (process.h): the engine thread, its lock and the
 * caches are process-wide, so the module cannot be loaded into more than one
 * interpreter. The GIL is relied on to guard the sync pools and the types'
 * state, so the module does not run without it. */
static PyModuleDef_Slot engine_slots[] = {
    {Py_mod_exec, engine_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
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
