/* port.h: the mailbox of one asyncio event loop.
 *
 * The engine thread posts news about a transfer (headers, body data, the
 * end) to the transfer's port and writes the port's eventfd once per engine
 * turn, after the engine lock is released: a wake-up under the lock would
 * let the woken loop thread run (on a shared CPU) only to block on that
 * lock. The loop's reader callback (Port.drain, async_types.h) takes every
 * transfer with news in one go (rx_port_take) and resolves their futures
 * with the GIL held.
 *
 *   post (engine, locked) -> signal (engine, unlocked) -> take (loop, locked)
 */
#ifndef RX_PORT_H
#define RX_PORT_H

#include <sys/eventfd.h>
#include <unistd.h>

#include "xfer.h"

struct rx_port {
    int efd;
    int signaled; /* news queued; the eventfd is (or is about to be) written */
    rx_xfer *head, *tail;
    int refs;             /* the Python object, each transfer aimed at it, a pending signal */
    rx_port *signal_next; /* the engine's list of ports to signal */
};

static rx_port *rx_port_new(void)
{
    rx_port *port = calloc(1, sizeof(*port));
    if (port == NULL) {
        return NULL;
    }
    port->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (port->efd < 0) {
        free(port);
        return NULL;
    }
    port->refs = 1;
    return port;
}

/* engine lock held */
static void rx_port_unref_locked(rx_port *port)
{
    if (--port->refs == 0) {
        close(port->efd);
        free(port);
    }
}

/* Engine thread, engine lock held: record news for the transfer's port. Its
 * eventfd is written by rx_engine_signal_ports() once the lock is released. */
static void rx_post_locked(rx_xfer *x, int events)
{
    rx_port *port = x->port;
    x->events |= events;
    if (!x->queued) {
        x->queued = 1;
        x->port_next = NULL;
        if (port->tail) {
            port->tail->port_next = x;
        } else {
            port->head = x;
        }
        port->tail = x;
    }
    if (!port->signaled) {
        port->signaled = 1;
        port->refs++; /* until signalled */
        port->signal_next = rx_the_engine.to_signal;
        rx_the_engine.to_signal = port;
    }
}

/* Engine thread, lock NOT held: write the eventfd of every port with news. */
static void rx_engine_signal_ports(rx_engine *eng)
{
    if (eng->to_signal == NULL) {
        return; /* only this thread adds to the list: a racy peek is safe */
    }
    pthread_mutex_lock(&eng->lock);
    rx_port *list = eng->to_signal;
    eng->to_signal = NULL;
    pthread_mutex_unlock(&eng->lock);
    for (rx_port *port = list; port != NULL; port = port->signal_next) {
        uint64_t one = 1;
        ssize_t n = write(port->efd, &one, sizeof(one));
        (void)n;
    }
    pthread_mutex_lock(&eng->lock);
    while (list != NULL) {
        rx_port *next = list->signal_next;
        rx_port_unref_locked(list);
        list = next;
    }
    pthread_mutex_unlock(&eng->lock);
}

/* Take every transfer with news; their `events` are for the caller to clear. */
static rx_xfer *rx_port_take(rx_port *port)
{
    uint64_t value;
    /* read first: a signal written after the list is taken must stay */
    ssize_t n = read(port->efd, &value, sizeof(value));
    (void)n;
    pthread_mutex_lock(&rx_the_engine.lock);
    rx_xfer *list = port->head;
    port->head = port->tail = NULL;
    port->signaled = 0;
    for (rx_xfer *x = list; x != NULL; x = x->port_next) {
        x->taken_next = x->port_next;
        x->queued = 0;
        x->taken = x->events;
        x->events = 0;
    }
    pthread_mutex_unlock(&rx_the_engine.lock);
    return list;
}

#endif
