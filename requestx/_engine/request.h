/* request.h: the Python -> C boundary, written once for both faces.
 *
 * A Settings object is a session's configuration (TLS, proxy, HTTP
 * version, decoding, local address): built once per configuration by the
 * Python side, it holds its own C strings and an id that is never reused.
 * A slot remembers the id it applied (rx_slot.settings_id) and skips
 * re-applying the same settings, on the sync and the async path alike; an
 * async transfer holds a reference to the C part, so the engine thread can
 * apply it after the Python object is gone.
 *
 * Header lines come as a tuple of bytes "Name: value"; each face keeps the
 * curl_slist it built for the tuple it saw last and reuses it while the
 * caller passes the same tuple object.
 *
 * perform() and submit() decode what they share (method, url, timeouts,
 * settings, stream) with rx_call_decode(); seconds become libcurl's units
 * in one place.
 */
#ifndef RX_REQUEST_H
#define RX_REQUEST_H

#include "easy.h"
#include "state.h"

/*** Settings ***/

/* The constructor's arguments, in order; the first and the three flags are
 * not strings. */
#define RX_SETTINGS_SIZE 11
#define RX_SETTINGS_STRINGS 7

/* The C side of a Settings object. Refcounted (atomic): the Python object
 * and each async transfer using it hold one; the last to let go frees it. */
typedef struct {
    int refs;
    uint64_t id;
    rx_settings st;                     /* the strings point into strings[] */
    char *strings[RX_SETTINGS_STRINGS]; /* owned copies */
} rx_shared_settings;

static void rx_shared_settings_unref(rx_shared_settings *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        for (int i = 0; i < RX_SETTINGS_STRINGS; i++) {
            free(s->strings[i]);
        }
        free(s);
    }
}

static rx_shared_settings *rx_shared_settings_ref(rx_shared_settings *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

typedef struct {
    PyObject_HEAD
    rx_shared_settings *shared;
    PyObject *args; /* the constructor's arguments, for the attributes and repr */
} SettingsObject;

static const char *const rx_settings_names[RX_SETTINGS_SIZE] = {
    "http_version", "verify", "ca_info",   "ca_path",     "cert",          "key",
    "proxy",        "decode", "interface", "unix_socket", "resend_unsafe",
};

/* A copy of an optional str argument (None: NULL). 0, or -1 with an error. */
static int settings_string(PyObject *obj, int index, char **out)
{
    *out = NULL;
    if (obj == Py_None) {
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "Settings() argument '%s' must be str or None, not %.100s",
                     rx_settings_names[index], Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(obj, &n);
    if (text == NULL) {
        return -1;
    }
    if ((Py_ssize_t)strlen(text) != n) {
        PyErr_Format(PyExc_ValueError, "Settings() argument '%s' contains a NUL character",
                     rx_settings_names[index]);
        return -1;
    }
    if ((*out = strdup(text)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Settings(http_version, verify, ca_info, ca_path, cert, key, proxy, decode,
 *          interface, unix_socket, resend_unsafe=False) */
static PyObject *Settings_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"http_version", "verify",      "ca_info",       "ca_path",
                             "cert",         "key",         "proxy",         "decode",
                             "interface",    "unix_socket", "resend_unsafe", NULL};
    PyObject *v[RX_SETTINGS_SIZE];
    v[10] = Py_False;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOOO|O:Settings", kwlist, &v[0], &v[1],
                                     &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
                                     &v[10])) {
        return NULL;
    }
    if (!PyLong_Check(v[0])) {
        PyErr_Format(PyExc_TypeError, "Settings() argument 'http_version' must be int, not %.100s",
                     Py_TYPE(v[0])->tp_name);
        return NULL;
    }
    rx_shared_settings *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PyErr_NoMemory();
    }
    c->refs = 1;
    c->st.http_version = PyLong_AsLong(v[0]);
    if ((c->st.http_version == -1 && PyErr_Occurred()) ||
        (c->st.verify = PyObject_IsTrue(v[1])) < 0 || (c->st.decode = PyObject_IsTrue(v[7])) < 0 ||
        (c->st.resend_unsafe = PyObject_IsTrue(v[10])) < 0) {
        goto fail;
    }
    /* the string arguments, in order, and where the C side reads them */
    static const int string_args[RX_SETTINGS_STRINGS] = {2, 3, 4, 5, 6, 8, 9};
    const char **fields[RX_SETTINGS_STRINGS] = {
        &c->st.ca_info, &c->st.ca_path,   &c->st.cert,        &c->st.key,
        &c->st.proxy,   &c->st.interface, &c->st.unix_socket,
    };
    for (int i = 0; i < RX_SETTINGS_STRINGS; i++) {
        if (settings_string(v[string_args[i]], string_args[i], &c->strings[i]) < 0) {
            goto fail;
        }
        *fields[i] = c->strings[i];
    }
    SettingsObject *self = (SettingsObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto fail;
    }
    self->args = PyTuple_New(RX_SETTINGS_SIZE);
    if (self->args == NULL) {
        Py_DECREF(self);
        goto fail;
    }
    for (int i = 0; i < RX_SETTINGS_SIZE; i++) {
        PyTuple_SET_ITEM(self->args, i, Py_NewRef(v[i]));
    }
    c->id = rx_settings_next_id();
    self->shared = c;
    return (PyObject *)self;

fail:
    rx_shared_settings_unref(c);
    return NULL;
}

static void Settings_dealloc(SettingsObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    rx_shared_settings_unref(self->shared);
    Py_XDECREF(self->args);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The attribute ``closure`` names (its index): the flags as bools, the rest
 * as given. */
static PyObject *Settings_get(SettingsObject *self, void *closure)
{
    Py_ssize_t i = (Py_ssize_t)(intptr_t)closure;
    if (i == 1) {
        return PyBool_FromLong(self->shared->st.verify);
    }
    if (i == 7) {
        return PyBool_FromLong(self->shared->st.decode);
    }
    if (i == 10) {
        return PyBool_FromLong(self->shared->st.resend_unsafe);
    }
    return Py_NewRef(PyTuple_GET_ITEM(self->args, i));
}

static PyObject *Settings_repr(SettingsObject *self)
{
    PyObject *parts = PyList_New(0);
    if (parts == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < RX_SETTINGS_SIZE; i++) {
        PyObject *value = Settings_get(self, (void *)(intptr_t)i);
        PyObject *part = value ? PyUnicode_FromFormat("%s=%R", rx_settings_names[i], value) : NULL;
        Py_XDECREF(value);
        if (part == NULL || PyList_Append(parts, part) < 0) {
            Py_XDECREF(part);
            Py_DECREF(parts);
            return NULL;
        }
        Py_DECREF(part);
    }
    PyObject *sep = PyUnicode_FromString(", ");
    PyObject *joined = sep ? PyUnicode_Join(sep, parts) : NULL;
    Py_XDECREF(sep);
    Py_DECREF(parts);
    if (joined == NULL) {
        return NULL;
    }
    PyObject *repr = PyUnicode_FromFormat("Settings(%U)", joined);
    Py_DECREF(joined);
    return repr;
}

/*** header lines ***/

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

/* Header lines that many async transfers share (the engine thread reads
 * them when a transfer starts). Refcounted (atomic). */
typedef struct {
    int refs;
    struct curl_slist *list;
} rx_shared_headers;

static void rx_shared_headers_unref(rx_shared_headers *h)
{
    if (h != NULL && __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        curl_slist_free_all(h->list);
        free(h);
    }
}

/*** the arguments perform() and submit() share ***/

typedef struct {
    const char *method;
    Py_ssize_t method_len;
    const char *url;
    Py_ssize_t url_len;
    rx_shared_settings *settings; /* borrowed from the Settings object */
    long connect_timeout_ms;      /* 0: libcurl's default */
    int64_t read_timeout_us;      /* 0: no limit */
    long total_timeout_ms;        /* the whole transfer; 0: no limit */
    int stream;
} rx_call;

/* Seconds (a float; <= 0: no limit) to a timeout in ms, at least 1. */
static int milliseconds_arg(PyObject *obj, long *out)
{
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    *out = 0;
    if (seconds > 0) {
        *out = (long)(seconds * 1000.0 + 0.5);
        if (*out == 0) {
            *out = 1;
        }
    }
    return 0;
}

/* Seconds (a float; <= 0: no limit) to a read timeout in microseconds. */
static int read_timeout_arg(PyObject *obj, int64_t *out)
{
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    *out = seconds > 0 ? (int64_t)(seconds * 1e6) : 0;
    return 0;
}

/* method and url (str), then tail = (connect_timeout, read_timeout,
 * settings, stream). 0, or -1 with an error set. */
static int rx_call_decode(rx_state *state, PyObject *method, PyObject *url, PyObject *const *tail,
                          rx_call *call)
{
    call->method = PyUnicode_AsUTF8AndSize(method, &call->method_len);
    call->url = call->method ? PyUnicode_AsUTF8AndSize(url, &call->url_len) : NULL;
    if (call->url == NULL || milliseconds_arg(tail[0], &call->connect_timeout_ms) < 0 ||
        read_timeout_arg(tail[1], &call->read_timeout_us) < 0 ||
        milliseconds_arg(tail[2], &call->total_timeout_ms) < 0) {
        return -1;
    }
    if (!PyObject_TypeCheck(tail[3], state->settings_type)) {
        PyErr_Format(PyExc_TypeError, "settings must be a requestx._engine.Settings, not %.100s",
                     Py_TYPE(tail[3])->tp_name);
        return -1;
    }
    call->settings = ((SettingsObject *)tail[3])->shared;
    call->stream = PyObject_IsTrue(tail[4]);
    return call->stream < 0 ? -1 : 0;
}

/* Apply the call's settings to a slot, unless they are the ones it has. */
static void rx_slot_use_settings(rx_slot *slot, const rx_shared_settings *settings)
{
    if (slot->settings_id != settings->id) {
        rx_slot_apply_settings(slot, &settings->st);
        slot->settings_id = settings->id;
    }
}

#endif
