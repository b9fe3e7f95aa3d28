/* process.h: everything that exists once per process, declared in one place.
 *
 * The module may be imported once per process (module.c declares it not
 * supported in subinterpreters): libcurl's global state, the async engine
 * thread and the caches below are the process's, not a module object's.
 *
 *   rx_the_engine        the async engine: its thread, multi handle, epoll,
 *                        command queue, lock (driven in loop.h)
 *   rx_pid               this process's id, cached (rx_getpid)
 *   rx_default_ca_*      the CA bundle and directory libcurl was built with
 *   rx_settings_last_id  the last id given to a Settings object (request.h)
 *
 * fork(): the child inherits sockets, TLS state and (maybe) a locked engine
 * mutex, and has no engine thread. rx_process_atfork_child() below forgets
 * the pid and the engine; each pool then notices the new pid and starts
 * anew without touching the parent's handles (rx_pool_check_fork, pool.h,
 * for the sync Client and the async pool alike); a transfer from before the
 * fork is left alone (rx_xfer_dispose, xfer.h); the engine thread is
 * started again on the next command (rx_engine_ensure_locked, loop.h); and
 * each event loop gets a new Port (async_sessions.py, _port).
 */
#ifndef RX_PROCESS_H
#define RX_PROCESS_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/*** the pid cache ***/

/* getpid() is a system call, asked on every request to notice a fork; the
 * id changes only in a forked child, where rx_process_atfork_child()
 * forgets it. */
static pid_t rx_pid;

static pid_t rx_getpid(void)
{
    pid_t pid = __atomic_load_n(&rx_pid, __ATOMIC_RELAXED);
    if (pid == 0) {
        pid = getpid();
        __atomic_store_n(&rx_pid, pid, __ATOMIC_RELAXED);
    }
    return pid;
}

/*** the default CA ***/

/* Read once at import; restored when a request goes back to verify=True
 * after a custom CA (rx_slot_apply_settings, easy.h). */
static char *rx_default_ca_info;
static char *rx_default_ca_path;

/* Where systems keep their CA certificates, for a libcurl built without a
 * default (the bundled one: one build serves every distribution) or with
 * one this machine lacks. Files first: a bundle loads once per connection's
 * TLS context, a directory is searched per certificate. */
static const char *const rx_ca_files[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Arch, Gentoo, Alpine */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL, CentOS, Amazon Linux */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7 and later */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/ssl/cert.pem",                                 /* Alpine, macOS, the BSDs */
    "/usr/local/share/certs/ca-root-nss.crt",            /* FreeBSD */
    "/usr/local/etc/openssl/cert.pem",                   /* macOS with Homebrew's OpenSSL */
    "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
};
static const char *const rx_ca_dirs[] = {
    "/etc/ssl/certs",               /* Debian, Ubuntu, openSUSE (hashed links) */
    "/etc/pki/tls/certs",           /* Fedora, RHEL */
    "/system/etc/security/cacerts", /* Android */
};

static int rx_readable(const char *path, int want_dir)
{
    struct stat sb;
    return path != NULL && stat(path, &sb) == 0 &&
           (want_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode)) && access(path, R_OK) == 0;
}

static void rx_read_default_ca(void)
{
    CURL *e = curl_easy_init();
    char *v = NULL;
    if (e == NULL) {
        return;
    }
    if (curl_easy_getinfo(e, CURLINFO_CAINFO, &v) == CURLE_OK && rx_readable(v, 0)) {
        rx_default_ca_info = strdup(v);
    }
    v = NULL;
    if (curl_easy_getinfo(e, CURLINFO_CAPATH, &v) == CURLE_OK && rx_readable(v, 1)) {
        rx_default_ca_path = strdup(v);
    }
    curl_easy_cleanup(e);
    for (size_t i = 0; rx_default_ca_info == NULL && i < sizeof(rx_ca_files) / sizeof(*rx_ca_files);
         i++) {
        if (rx_readable(rx_ca_files[i], 0)) {
            rx_default_ca_info = strdup(rx_ca_files[i]);
        }
    }
    for (size_t i = 0; rx_default_ca_path == NULL && i < sizeof(rx_ca_dirs) / sizeof(*rx_ca_dirs);
         i++) {
        if (rx_readable(rx_ca_dirs[i], 1)) {
            rx_default_ca_path = strdup(rx_ca_dirs[i]);
        }
    }
}

/* libcurl is older than 8.23.0, whose fix of CVE-2026-92392 makes HTTP/2
 * uploads safe (rx_version_for, easy.h). Set at import. */
static int rx_h2_uploads_unsafe;

/*** settings ids ***/

/* The last id given to a Settings object (atomic). Ids are never reused, so
 * a slot that remembers the id it applied (rx_slot.settings_id) never
 * mistakes new settings for old ones. */
static uint64_t rx_settings_last_id;

static uint64_t rx_settings_next_id(void)
{
    return __atomic_add_fetch(&rx_settings_last_id, 1, __ATOMIC_RELAXED);
}

/*** the async engine ***/

typedef struct rx_cmd rx_cmd;
typedef struct rx_port rx_port;
typedef struct rx_xfer rx_xfer;

typedef struct {
    pthread_mutex_t lock; /* guards everything the threads share (see xfer.h) */
    pthread_t thread;
    int started;
    pid_t pid;
    int epfd;
    int wakefd;
    int64_t curl_deadline_us; /* when libcurl wants socket_action(TIMEOUT), 0: never */
    CURLM *multi;
    rx_cmd *cmd_head, *cmd_tail;
    rx_xfer *running; /* doubly linked through run_prev/run_next */
    rx_xfer *stop_list;
    int64_t read_deadline_us; /* the earliest read-timeout deadline, 0: none */
    int wake_pending;         /* wakefd written and not yet read */
    rx_port *to_signal;       /* ports with news whose eventfd is still to be written */
    rx_xfer *body_news;       /* streams with new body bytes this turn */
} rx_engine;

/* The one engine of this process. It owns references to Python objects only
 * through rx_xfer.pyobj, which the event loop drops (Port.drain). */
static rx_engine rx_the_engine = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*** fork and start-up ***/

/* After fork() in the child: the engine thread does not exist here, and the
 * mutex may have been held by it at the moment of the fork. */
static void rx_process_atfork_child(void)
{
    rx_pid = 0;
    pthread_mutex_init(&rx_the_engine.lock, NULL);
    rx_the_engine.started = 0;
}

/* At import (every import of the module in this process: libcurl counts its
 * global inits). 0, or -1 when libcurl cannot start. */
static int rx_process_init(void)
{
    static int atfork_registered = 0; /* under the GIL of the importing thread */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }
    if (rx_default_ca_info == NULL && rx_default_ca_path == NULL) {
        rx_read_default_ca();
    }
    rx_h2_uploads_unsafe = curl_version_info(CURLVERSION_NOW)->version_num < 0x081700;
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, rx_process_atfork_child);
        atfork_registered = 1;
    }
    return 0;
}

#endif
