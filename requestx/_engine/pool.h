/* pool.h: idle slots, kept for the next request, and the fork check.
 *
 * Both drivers keep the slots (easy handles) they are done with on a free
 * list, all sharing one libcurl share handle (DNS, TLS sessions, and for
 * the async pool connections: share.h): the sync Client (sync_types.h,
 * under the GIL) and the async pool (xfer.h, under the engine lock). The
 * caller provides the locking.
 *
 * After fork() a pool belongs to the parent: its handles hold the parent's
 * sockets and TLS state. A child that notices the new pid forgets
 * (deliberately leaks) them and starts an empty pool; see process.h for the
 * other places fork is handled.
 */
#ifndef RX_POOL_H
#define RX_POOL_H

#include "easy.h"

/* Idle slots kept per pool; more than this are freed. */
#define RX_MAX_IDLE_SLOTS 64

typedef struct {
    rx_share *share; /* NULL until the first slot (sync) */
    rx_slot *idle;
    int idle_count;
    pid_t pid; /* the process the pool belongs to */
} rx_pool;

/* In a child after fork(), forget the parent's pool. ``make_share``: start
 * with a new share at once (else with none, made with the next slot).
 * Returns 0 (same process), 1 (forgotten) or -1 (no memory for the share:
 * nothing changed). */
static int rx_pool_check_fork(rx_pool *p, int make_share)
{
    pid_t pid = rx_getpid();
    if (p->pid == pid) {
        return 0;
    }
    rx_share *share = NULL;
    if (make_share && (share = rx_share_new(1)) == NULL) {
        return -1;
    }
    p->share = share;
    p->idle = NULL;
    p->idle_count = 0;
    p->pid = pid;
    return 1;
}

/* An idle slot, or NULL. */
static rx_slot *rx_pool_take(rx_pool *p)
{
    rx_slot *slot = p->idle;
    if (slot != NULL) {
        p->idle = slot->next;
        p->idle_count--;
        slot->next = NULL;
    }
    return slot;
}

/* Keep a slot of this pool's share for later: 1, or 0 when the pool is full
 * or the slot is from an older share (the caller frees it then). */
static int rx_pool_keep(rx_pool *p, rx_slot *slot)
{
    if (slot->share != p->share || p->idle_count >= RX_MAX_IDLE_SLOTS) {
        return 0;
    }
    slot->next = p->idle;
    p->idle = slot;
    p->idle_count++;
    return 1;
}

#endif
