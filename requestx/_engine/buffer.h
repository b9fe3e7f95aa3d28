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

/* Make room for ``n`` more bytes in one allocation. Returns 0, or -1 when
 * memory is exhausted (the buffer is unchanged). */
static int rx_buffer_reserve(rx_buffer *b, size_t n)
{
    if (n <= b->cap - b->len) {
        return 0;
    }
    char *data = realloc(b->data, b->len + n);
    if (data == NULL) {
        return -1;
    }
    b->data = data;
    b->cap = b->len + n;
    return 0;
}

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

/* Forget the contents. Allocations up to ``keep`` bytes stay for the next
 * transfer; larger ones are given back, so one big download does not pin
 * memory in the pool. */
static void rx_buffer_clear(rx_buffer *b, size_t keep)
{
    b->len = 0;
    if (b->cap > keep) {
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
