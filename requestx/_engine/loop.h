/* loop.h: the engine thread behind AsyncSession.
 *
 * One thread per process owns one libcurl multi handle and an epoll loop
 * (libcurl's sockets and an eventfd for commands), in the manner of curl's
 * ephiperfifo.c; libcurl's timer and the read-timeout deadlines become the
 * timeout of epoll_wait itself, so moving them costs no system call.
 * Nothing here touches Python.
 *
 *   event-loop threads                       engine thread
 *   ------------------                       -------------
 *   rx_engine_send(SUBMIT)   --command-->    start it now, or queue it behind
 *   rx_engine_send(CANCEL)                   its pool's connection limits
 *   rx_xfer_feed(xfer, chunk)                curl_multi_socket_action(...)
 *   rx_port_take() <--one eventfd write--    completions batched per port
 *
 * Commands are queued under the engine lock and the engine's eventfd is
 * written once per batch, after unlocking. One turn of the loop: socket
 * events and commands, libcurl's timer, finished transfers (collect), read
 * timeouts, readers' wake-ups, then the ports' eventfds.
 */
#ifndef RX_LOOP_H
#define RX_LOOP_H

#include <sys/epoll.h>

#include "port.h"

struct rx_cmd {
    int kind;
    rx_xfer *xfer;
    rx_async_pool *pool;
    struct rx_cmd *next;
};

/* Idle connections the engine's pool may keep (libcurl's default, 4 per
 * running transfer, would close keep-alive connections under load). */
#define RX_ENGINE_MAX_IDLE_CONNECTIONS 1024L

/* Socket events taken per epoll_wait. */
#define RX_EPOLL_EVENTS 64

/*** the engine thread ***/

/* libcurl's socket callback. A socket it watches carries a non-NULL
 * `sockp` (curl_multi_assign), so each change costs one epoll_ctl: ADD the
 * first time, MOD after, DEL at the end (libcurl then forgets `sockp`). */
static int rx_engine_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    (void)easy;
    rx_engine *eng = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (sockp != NULL) {
        epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev);
    } else if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
               (errno == EEXIST && epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
        curl_multi_assign(eng->multi, fd, eng); /* any non-NULL marker */
    }
    return 0;
}

static int rx_engine_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    rx_engine *eng = userp;
    eng->curl_deadline_us = timeout_ms < 0 ? 0 : rx_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

/* epoll_wait's timeout: until the nearer of libcurl's and the read deadline. */
static int rx_engine_wait_ms(const rx_engine *eng)
{
    if (eng->body_news != NULL) {
        return 0; /* a reader's wake-up was put off to the next turn */
    }
    int64_t next = eng->curl_deadline_us;
    if (eng->read_deadline_us && (next == 0 || eng->read_deadline_us < next)) {
        next = eng->read_deadline_us;
    }
    if (next == 0) {
        return -1;
    }
    int64_t left = next - rx_now_us();
    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

static void rx_engine_collect(rx_engine *eng)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(eng->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        rx_slot *slot = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
        if (slot != NULL && slot->owner != NULL) {
            rx_engine_finish(eng, slot->owner, rx_slot_outcome(slot, msg->data.result), NULL);
        }
    }
    while (eng->stop_list != NULL) { /* HEAD with a body: done at the headers */
        rx_xfer *x = eng->stop_list;
        eng->stop_list = x->next;
        x->next = NULL;
        x->stop_queued = 0;
        if (x->running) {
            rx_engine_finish(eng, x, CURLE_OK, NULL);
        }
    }
}

/* Abort transfers idle for longer than their read timeout (the rule is
 * rx_read_deadline, easy.h; here upload progress does not count as activity);
 * arm the read timer for the next deadline. */
static void rx_engine_read_timeouts(rx_engine *eng)
{
    int64_t now = rx_now_us(), next = 0;
    rx_xfer *x = eng->running;
    while (x != NULL) {
        rx_xfer *after = x->run_next;
        rx_slot *slot = x->slot;
        int64_t deadline = rx_read_deadline(slot, x->read_timeout_us);
        if (deadline != 0) {
            if (deadline <= now) {
                rx_slot_note_read_timeout(slot, x->read_timeout_us);
                rx_engine_finish(eng, x, CURLE_OPERATION_TIMEDOUT, NULL);
            } else if (next == 0 || deadline < next) {
                next = deadline;
            }
        }
        x = after;
    }
    eng->read_deadline_us = next;
}

static void rx_engine_commands(rx_engine *eng)
{
    uint64_t value;
    ssize_t n = read(eng->wakefd, &value, sizeof(value));
    (void)n;
    pthread_mutex_lock(&eng->lock);
    rx_cmd *cmd = eng->cmd_head;
    eng->cmd_head = eng->cmd_tail = NULL;
    eng->wake_pending = 0;
    pthread_mutex_unlock(&eng->lock);
    while (cmd != NULL) {
        rx_cmd *next = cmd->next;
        rx_xfer *x = cmd->xfer;
        switch (cmd->kind) {
        case RX_CMD_SUBMIT:
            if (x->cancel) {
                rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
                break;
            }
            x->next = NULL;
            if (x->pool->queue_tail) {
                x->pool->queue_tail->next = x;
            } else {
                x->pool->queue_head = x;
            }
            x->pool->queue_tail = x;
            rx_engine_start_queued(eng, x->pool);
            break;
        case RX_CMD_CANCEL:
            if (x->running) {
                rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
            } else if (!x->finished) {
                /* still queued: unlink it from its client's pending list */
                rx_async_pool *c = x->pool;
                rx_xfer *prev = NULL;
                for (rx_xfer *p = c->queue_head; p != NULL; prev = p, p = p->next) {
                    if (p == x) {
                        if (prev) {
                            prev->next = p->next;
                        } else {
                            c->queue_head = p->next;
                        }
                        if (c->queue_tail == p) {
                            c->queue_tail = prev;
                        }
                        rx_engine_finish(eng, x, CURLE_ABORTED_BY_CALLBACK, "cancelled");
                        break;
                    }
                }
            }
            break;
        case RX_CMD_UNPAUSE:
            if (x->running) {
                rx_slot *slot = x->slot;
                pthread_mutex_lock(&eng->lock);
                int resume = slot->paused;
                slot->paused = 0;
                if (x->st != NULL) {
                    x->st->upload_kick = 0;
                }
                if (slot->up_wanted && (slot->up.len > slot->up_pos || slot->up_eof)) {
                    slot->up_wanted = 0;
                    resume = 1;
                }
                pthread_mutex_unlock(&eng->lock);
                if (resume) {
                    slot->last_activity_us = rx_now_us();
                    curl_easy_pause(slot->easy, CURLPAUSE_CONT);
                }
            }
            break;
        case RX_CMD_CLOSE_POOL:
            pthread_mutex_lock(&eng->lock);
            cmd->pool->closed = 1;
            rx_async_pool_unref(cmd->pool);
            pthread_mutex_unlock(&eng->lock);
            break;
        }
        if (x != NULL) {
            rx_xfer_command_done(eng, x);
        }
        free(cmd);
        cmd = next;
    }
}

static void *rx_engine_main(void *arg)
{
    rx_engine *eng = arg;
    struct epoll_event events[RX_EPOLL_EVENTS];
    for (;;) {
        int n = epoll_wait(eng->epfd, events, RX_EPOLL_EVENTS, rx_engine_wait_ms(eng));
        int running = 0;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == eng->wakefd) {
                rx_engine_commands(eng);
            } else {
                int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                            (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                            (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(eng->multi, fd, flags, &running);
            }
        }
        if (eng->curl_deadline_us && rx_now_us() >= eng->curl_deadline_us) {
            eng->curl_deadline_us = 0;
            curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        rx_engine_collect(eng);
        rx_engine_read_timeouts(eng);
        rx_engine_notify_readers(eng);
        rx_engine_signal_ports(eng);
    }
    return NULL;
}

static int rx_engine_add_fd(rx_engine *eng, int fd)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Start the engine in this process if it is not running (after fork() the
 * child has no engine thread: the parent's state is abandoned, see
 * process.h). Returns 0 or
 * -1. Engine lock held. */
static int rx_engine_ensure_locked(void)
{
    rx_engine *eng = &rx_the_engine;
    if (eng->started && eng->pid == rx_getpid()) {
        return 0;
    }
    eng->cmd_head = eng->cmd_tail = NULL;
    eng->running = NULL;
    eng->to_signal = NULL;
    eng->body_news = NULL;
    eng->stop_list = NULL;
    eng->read_deadline_us = 0;
    eng->wake_pending = 0;
    eng->epfd = epoll_create1(EPOLL_CLOEXEC);
    eng->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    eng->curl_deadline_us = 0;
    eng->multi = curl_multi_init();
    if (eng->epfd < 0 || eng->wakefd < 0 || eng->multi == NULL) {
        return -1;
    }
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, rx_engine_on_socket);
    curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, eng);
    curl_multi_setopt(eng->multi, CURLMOPT_TIMERFUNCTION, rx_engine_on_timer);
    curl_multi_setopt(eng->multi, CURLMOPT_TIMERDATA, eng);
    curl_multi_setopt(eng->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, RX_ENGINE_MAX_IDLE_CONNECTIONS);
    if (rx_engine_add_fd(eng, eng->wakefd) < 0) {
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&eng->thread, &attr, rx_engine_main, eng);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        return -1;
    }
    eng->started = 1;
    eng->pid = rx_getpid();
    return 0;
}

/* Any thread: queue a command for the engine and wake it. 0 or -1. */
static int rx_engine_send(int kind, rx_xfer *x, rx_async_pool *c)
{
    rx_cmd *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL) {
        return -1;
    }
    cmd->kind = kind;
    cmd->xfer = x;
    cmd->pool = c;
    pthread_mutex_lock(&rx_the_engine.lock);
    if (rx_engine_ensure_locked() < 0) {
        pthread_mutex_unlock(&rx_the_engine.lock);
        free(cmd);
        return -1;
    }
    if (x != NULL) {
        x->cmd_refs++; /* keeps it alive until the engine has handled cmd */
    }
    if (rx_the_engine.cmd_tail) {
        rx_the_engine.cmd_tail->next = cmd;
    } else {
        rx_the_engine.cmd_head = cmd;
    }
    rx_the_engine.cmd_tail = cmd;
    /* one wake-up per batch of commands, written after unlocking: woken
     * under the lock, the engine thread would only block on it */
    int wake = !rx_the_engine.wake_pending;
    rx_the_engine.wake_pending = 1;
    pthread_mutex_unlock(&rx_the_engine.lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t n = write(rx_the_engine.wakefd, &one, sizeof(one));
        (void)n;
    }
    return 0;
}

#endif
