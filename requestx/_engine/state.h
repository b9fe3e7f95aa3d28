/* state.h: the module's state, and the one constructor of TransferError.
 *
 * Everything the module owns that is a Python object lives here (types,
 * the exception class, interned names), reached through the module of the
 * defining class (METH_METHOD) or of the object's type. What is
 * process-wide and not a Python object (the engine thread, the pid cache,
 * the default CA) is in process.h.
 *
 * Failures of a transfer are raised as TransferError(curl_code, message,
 * phase), made only by rx_transfer_error() below, whichever face (sync,
 * async, a stream's read) reports them. requestx.exceptions and
 * requestx.transports._errors map them, each through one table.
 */
#ifndef RX_STATE_H
#define RX_STATE_H

#include <Python.h>

typedef struct {
    PyTypeObject *settings_type;
    PyTypeObject *client_type;
    PyTypeObject *stream_type;
    PyTypeObject *async_client_type;
    PyTypeObject *port_type;
    PyTypeObject *async_transfer_type;
    PyTypeObject *sse_parser_type;
    PyTypeObject *pending_type;
    PyTypeObject *stats_type;
    PyTypeObject *websocket_type;
    PyObject *transfer_error;
    /* interned method names */
    PyObject *str_cancelled;
    PyObject *str_set_result;
    PyObject *str_set_exception;
    PyObject *str_throw;
    PyObject *str_close;
    PyObject *str_cancel;
    PyObject *str_pending_start; /* the session's steps of Pending (pending.h) */
    PyObject *str_pending_done;
    PyObject *str_pending_failed;
} rx_state;

static inline rx_state *get_state(PyObject *module)
{
    return (rx_state *)PyModule_GetState(module);
}

/* A new TransferError(code, message, phase), or NULL with an error set. The
 * message is libcurl's or ours; bytes that are not UTF-8 (a server's words
 * quoted by libcurl) are replaced rather than turned into a decoding error. */
static PyObject *rx_transfer_error(rx_state *state, int code, const char *message, int phase)
{
    PyObject *args[3] = {NULL, NULL, NULL};
    PyObject *exc = NULL;
    args[0] = PyLong_FromLong(code);
    args[1] =
        args[0] ? PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace") : NULL;
    args[2] = args[1] ? PyLong_FromLong(phase) : NULL;
    if (args[2] != NULL) {
        exc = PyObject_Vectorcall(state->transfer_error, args, 3, NULL);
    }
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    return exc;
}

/* Raise TransferError(code, message, phase). */
static void rx_raise_transfer_error(rx_state *state, int code, const char *message, int phase)
{
    PyObject *exc = rx_transfer_error(state, code, message, phase);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

#endif
