/* lend.h: bytes objects a stream's body is written into directly.
 *
 * A streamed body would be copied twice in user space: by the body callback
 * out of libcurl's read buffer into the slot's buffer, then into a new bytes
 * object for the reader. For a fast download the reader instead lends the
 * slot the inside of a bytes object (rx_slot.lent); the callback copies into
 * it, and the reader hands that very object out: one copy.
 *
 * The objects are recycled: the last few handed out are remembered, and one
 * that only we still refer to (the reader dropped it) is lent again, so a
 * long download reuses the same warm memory instead of asking the allocator
 * for a megabyte, and the kernel for its pages, every time.
 *
 * A bytes object is immutable once Python code can see it; these are written
 * only while nothing but this lender refers to them: fresh from
 * PyBytes_FromStringAndSize(NULL, n), or recycled with a reference count of
 * one. A chunk is handed out with its size set to what arrived (the memory
 * behind it keeps the lent capacity, at most twice that).
 *
 * Slow streams (SSE, a trickle) never lend: lending starts once a single read
 * brought RX_LEND_START_BYTES, and stops when a lent buffer comes back less
 * than a quarter full. All of this runs with the GIL held.
 */
#ifndef RX_LEND_H
#define RX_LEND_H

#include <Python.h>

#include "buffer.h"

/* What one lent bytes object holds. */
#define RX_LEND_BYTES ((Py_ssize_t)1024 * 1024)
/* A read of at least this much switches lending on. */
#define RX_LEND_START_BYTES ((size_t)256 * 1024)
/* Handed out chunks remembered for reuse. */
#define RX_LEND_RECENT 2

typedef struct {
    int on;                           /* lending: the stream is fast */
    PyObject *ready;                  /* a bytes object of RX_LEND_BYTES, not yet lent */
    PyObject *out;                    /* the object whose inside is lent to the slot */
    PyObject *recent[RX_LEND_RECENT]; /* handed out, full capacity behind them */
    int next_recent;
} rx_lender;

/* A bytes object to lend, or NULL (not lending, or out of memory: the stream
 * then goes on through the slot's own buffer, no error). */
static PyObject *rx_lender_take(rx_lender *l)
{
    if (!l->on) {
        return NULL;
    }
    PyObject *obj = l->ready;
    l->ready = NULL;
    for (int i = 0; obj == NULL && i < RX_LEND_RECENT; i++) {
        PyObject *old = l->recent[i];
        if (old != NULL && Py_REFCNT(old) == 1) {
            l->recent[i] = NULL;
            /* back to the full size it was made with: an in-place realloc;
             * it also forgets a cached hash */
            if (_PyBytes_Resize(&old, RX_LEND_BYTES) == 0) {
                obj = old;
            } else {
                PyErr_Clear();
            }
        }
    }
    if (obj == NULL) {
        obj = PyBytes_FromStringAndSize(NULL, RX_LEND_BYTES);
        if (obj == NULL) {
            PyErr_Clear();
        }
    }
    return obj;
}

/* The lent buffer for ``obj`` (from rx_lender_take). One byte short of the
 * object: a chunk handed out is then always shortened, and recycling it
 * really resizes it, which is what resets its cached hash. */
static rx_buffer rx_lend_buffer(PyObject *obj)
{
    return (rx_buffer){PyBytes_AS_STRING(obj), 0, (size_t)PyBytes_GET_SIZE(obj) - 1};
}

/* Not lent after all: keep ``obj`` for next time (steals the reference). */
static void rx_lender_keep(rx_lender *l, PyObject *obj)
{
    if (obj != NULL) {
        Py_XSETREF(l->ready, obj);
    }
}

/* ``obj`` came back from the slot with ``n`` bytes (n > 0) written: the chunk
 * to give the reader (a new reference; never fails). Steals the reference to
 * ``obj``. */
static PyObject *rx_lender_hand_out(rx_lender *l, PyObject *obj, size_t n)
{
    Py_ssize_t len = (Py_ssize_t)n;
    if (len * 2 < PyBytes_GET_SIZE(obj)) {
        /* mostly empty: copy the bytes out and keep the object to lend */
        if (n * 4 < (size_t)RX_LEND_BYTES) {
            l->on = 0; /* the stream has slowed down */
        }
        PyObject *chunk = PyBytes_FromStringAndSize(PyBytes_AS_STRING(obj), len);
        if (chunk != NULL) {
            rx_lender_keep(l, obj);
            return chunk;
        }
        PyErr_Clear(); /* no memory for a copy: hand the object out after all */
    }
    /* Hand the object itself out, shortened in place (PyBytes invariants:
     * ob_size bytes then a NUL; the allocation behind it is larger). */
    Py_SET_SIZE(obj, len);
    PyBytes_AS_STRING(obj)[len] = '\0';
    Py_XSETREF(l->recent[l->next_recent], Py_NewRef(obj));
    l->next_recent = (l->next_recent + 1) % RX_LEND_RECENT;
    return obj;
}

/* A chunk of ``n`` bytes came through the slot's own buffer. */
static void rx_lender_saw(rx_lender *l, size_t n)
{
    if (n >= RX_LEND_START_BYTES) {
        l->on = 1;
    }
}

/* Let go of everything; nothing may still be lent. */
static void rx_lender_clear(rx_lender *l)
{
    Py_CLEAR(l->ready);
    Py_CLEAR(l->out);
    for (int i = 0; i < RX_LEND_RECENT; i++) {
        Py_CLEAR(l->recent[i]);
    }
    l->on = 0;
}

#endif
