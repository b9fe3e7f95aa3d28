/* share.h: one libcurl share handle per Client, with real locks.
 *
 * The transfers of one sync Client may run on many threads at once (the GIL
 * is released for each transfer), so what its easy handles share, the DNS
 * cache and TLS sessions, is guarded by one mutex per kind of data, as
 * libcurl's share interface requires. Connections are shared only where one
 * thread drives every transfer (the async engine): libcurl does not support
 * a connection pool shared by concurrent threads, and libcurl 8's crashes
 * under it (use after free in the pool's lookup, seen with 8 threads on one
 * Session). A sync slot keeps its connections in its own multi handle.
 */
#ifndef RX_SHARE_H
#define RX_SHARE_H

#include <curl/curl.h>
#include <pthread.h>

typedef struct {
    CURLSH *handle;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    int slots;    /* easy handles attached to this share */
    int detached; /* its Client let go of it: free once slots == 0 */
} rx_share;

static void rx_share_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userp)
{
    (void)easy;
    (void)access;
    rx_share *share = userp;
    pthread_mutex_lock(&share->locks[data]);
}

static void rx_share_unlock(CURL *easy, curl_lock_data data, void *userp)
{
    (void)easy;
    rx_share *share = userp;
    pthread_mutex_unlock(&share->locks[data]);
}

/* ``connections``: share the connection pool too (one thread only, see
 * above). Returns NULL when libcurl or memory fails. */
static rx_share *rx_share_new(int connections)
{
    rx_share *share = calloc(1, sizeof(*share));
    if (share == NULL) {
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_init(&share->locks[i], NULL);
    }
    share->handle = curl_share_init();
    if (share->handle == NULL) {
        free(share);
        return NULL;
    }
    curl_share_setopt(share->handle, CURLSHOPT_LOCKFUNC, rx_share_lock);
    curl_share_setopt(share->handle, CURLSHOPT_UNLOCKFUNC, rx_share_unlock);
    curl_share_setopt(share->handle, CURLSHOPT_USERDATA, share);
    curl_share_setopt(share->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (connections) {
        curl_share_setopt(share->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    return share;
}

/* Frees the share (closing its pooled connections). Every easy handle using
 * it must have been cleaned up before. */
static void rx_share_free(rx_share *share)
{
    if (share == NULL) {
        return;
    }
    curl_share_cleanup(share->handle);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_destroy(&share->locks[i]);
    }
    free(share);
}

/* The Client is done with this share: free it now, or when its last easy
 * handle (held by a response still streaming) is cleaned up. */
static void rx_share_detach(rx_share *share)
{
    if (share == NULL) {
        return;
    }
    share->detached = 1;
    if (share->slots == 0) {
        rx_share_free(share);
    }
}

#endif
