/* buffer.h: a growable byte buffer owned by C code.
 *
 * libcurl's header and body callbacks append here without touching Python;
 * the bytes are copied into a Python object once, after the GIL is re-taken.
 */
#ifndef RX_BUFFER_H
#define RX_BUFFER_H

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} rx_buffer;

/* Returns 0 on success, -1 when memory is exhausted (the buffer is unchanged). */
static int rx_buffer_append(rx_buffer *b, const char *src, size_t n)
{
    if (n == 0) {
        return 0; /* memcpy() with a NULL pointer is undefined even for 0 bytes */
    }
    if (n > b->cap - b->len) {
        size_t need = b->len + n;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < need) {
            cap *= 2;
        }
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            return -1;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

/* Forget the contents; keep small allocations for the next transfer and give
 * back large ones, so one big download does not pin memory in the pool. */
static void rx_buffer_clear(rx_buffer *b)
{
    b->len = 0;
    if (b->cap > 256 * 1024) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

static void rx_buffer_free(rx_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#endif
