/* sync.h: the sync driver, a slot's private multi handle run on the
 * calling thread.
 *
 * rx_slot_run() drives one slot towards a goal (the whole response, the end
 * of the headers, the next body bytes) without the GIL; drive() calls it
 * with the GIL released and, between libcurl calls, does what needs Python:
 * the next chunk of a streamed request body from its iterator, and a
 * chance for signal handlers (Ctrl-C) during a long wait.
 *
 * Return codes: rx_slot_run() returns a CURLcode; CURLE_OK with slot->done
 * == 0 means "the goal was reached and the transfer is still going", or,
 * when slot->up_wanted is set, "feed the next chunk of the body
 * (rx_slot_feed)", or, when slot->ticked is set, "check signals, then call
 * again".
 */
#ifndef RX_SYNC_H
#define RX_SYNC_H

#include <Python.h>

#include "easy.h"

/* While a sync transfer waits, Python's signal handlers (Ctrl-C) get a chance
 * to run this often. */
#define RX_SIGNAL_CHECK_US 100000

/* What the caller wants before rx_slot_run() returns. */
enum rx_goal {
    RX_UNTIL_DONE = 0,    /* the whole response */
    RX_UNTIL_HEADERS = 1, /* the final response's header block */
    RX_UNTIL_BODY = 2,    /* at least one body byte, or the end */
};

static int rx_goal_reached(const rx_slot *slot, enum rx_goal goal)
{
    switch (goal) {
    case RX_UNTIL_HEADERS:
        return slot->headers_done;
    case RX_UNTIL_BODY:
        return rx_slot_buffered(slot) > 0;
    default:
        return 0;
    }
}

/* The read-timeout check (the rule is rx_read_deadline, easy.h); returns 1
 * when the transfer has been idle too long. Here upload progress counts as
 * activity too (a slow server reading a big body). */
static int rx_idle_too_long(rx_slot *slot, int64_t now, int *wait_ms)
{
    int64_t deadline = rx_read_deadline(slot, slot->read_timeout_us);
    if (deadline == 0) {
        return 0;
    }
    int64_t left = deadline - now;
    if (left <= 0) {
        curl_off_t up = 0;
        curl_easy_getinfo(slot->easy, CURLINFO_SIZE_UPLOAD_T, &up);
        if (up == slot->uploaded) {
            return 1;
        }
        slot->uploaded = up;
        slot->last_activity_us = now;
        left = slot->read_timeout_us;
    }
    int left_ms = (int)((left + 999) / 1000);
    if (left_ms < *wait_ms) {
        *wait_ms = left_ms;
    }
    return 0;
}

/* Drive the transfer until `goal` or the end. Runs without the GIL. */
static CURLcode rx_slot_run(rx_slot *slot, enum rx_goal goal)
{
    if (slot->done) {
        /* a body that broke after the headers: its error is reported once
         * everything that did arrive has been taken */
        return (goal == RX_UNTIL_BODY && rx_slot_buffered(slot) > 0) ? CURLE_OK : slot->result;
    }
    if (slot->paused && !rx_stream_full(slot)) {
        slot->paused = 0;
        slot->last_activity_us = rx_now_us();
        curl_easy_pause(slot->easy, CURLPAUSE_CONT);
    }
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(slot->multi, &running);
        if (mc != CURLM_OK) {
            slot->done = 1;
            slot->result = CURLE_RECV_ERROR;
            return slot->result;
        }
        if (running == 0) {
            CURLMsg *msg;
            int queued;
            slot->done = 1;
            while ((msg = curl_multi_info_read(slot->multi, &queued)) != NULL) {
                if (msg->msg == CURLMSG_DONE) {
                    slot->result = rx_slot_outcome(slot, msg->data.result);
                }
            }
            if (slot->result != CURLE_OK && goal != RX_UNTIL_DONE && rx_goal_reached(slot, goal)) {
                return CURLE_OK; /* the error waits for the consumer (see above) */
            }
            return slot->result;
        }
        if (slot->stop_at_headers && slot->headers_done) {
            /* taken off the multi handle unfinished, the connection is closed */
            slot->done = 1;
            slot->result = CURLE_OK;
            return CURLE_OK;
        }
        if (rx_goal_reached(slot, goal) || slot->up_wanted) {
            return CURLE_OK;
        }
        int wait_ms = 1000;
        if (rx_idle_too_long(slot, rx_now_us(), &wait_ms)) {
            slot->done = 1;
            slot->result = CURLE_OPERATION_TIMEDOUT;
            rx_slot_note_read_timeout(slot, slot->read_timeout_us);
            return slot->result;
        }
        if (slot->paused) {
            return CURLE_OK; /* the consumer has a full buffer to drain */
        }
        if (slot->tick_at_us > 0) {
            int64_t now = rx_now_us();
            if (now >= slot->tick_at_us) {
                slot->ticked = 1;
                return CURLE_OK;
            }
            int tick_ms = (int)((slot->tick_at_us - now + 999) / 1000);
            if (tick_ms < wait_ms) {
                wait_ms = tick_ms;
            }
        }
        mc = curl_multi_poll(slot->multi, NULL, 0, wait_ms, NULL);
        if (mc != CURLM_OK) {
            slot->done = 1;
            slot->result = CURLE_RECV_ERROR;
            return slot->result;
        }
    }
}

/* Give libcurl the next chunk of a streamed request body from its Python
 * iterator. Runs with the GIL, between libcurl calls. -1 with an exception. */
static int feed_upload(rx_slot *slot, PyObject *iter)
{
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
 * feed a streamed body from `upload_iter` (NULL: none) and to check signals.
 * GIL held on entry and exit. *py_failed is set when a Python exception
 * (from the body's iterator, or a signal handler) is pending. */
static CURLcode drive(rx_slot *slot, PyObject *upload_iter, enum rx_goal goal, int *py_failed)
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
        if (feed_upload(slot, upload_iter) < 0) {
            *py_failed = 1;
            return CURLE_ABORTED_BY_CALLBACK;
        }
    }
}

/* The timings (rx_slot_timings) as native doubles: one allocation per
 * request; Python unpacks them (struct "8d") only if someone asks. */
static PyObject *timings_bytes(rx_slot *slot)
{
    double t[RX_TIMINGS];
    rx_slot_timings(slot, t);
    return PyBytes_FromStringAndSize((const char *)t, sizeof(t));
}

#endif
