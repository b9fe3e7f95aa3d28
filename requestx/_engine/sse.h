/* sse.h: an incremental parser for server-sent events (WHATWG HTML,
 * "Parsing an event stream"). Bytes go in as they arrive, in pieces of any
 * size; each event comes out as soon as the blank line that ends it is in.
 *
 * Rules: lines end with CRLF, LF or CR (a CRLF split across two pieces is one
 * line end); a UTF-8 BOM at the very start is dropped; ":" starts a comment;
 * "field: value" loses one space after the colon; data lines join with "\n";
 * "id" containing NUL is ignored, otherwise it is carried to later events;
 * "retry" counts only when it is all ASCII digits; an event with no data is
 * not dispatched; an unfinished event at the end of the stream is dropped.
 *
 * rx_sse_feed() returns 0, or -1 when memory runs out.
 */
#ifndef RX_SSE_H
#define RX_SSE_H

#include "buffer.h"

typedef struct {
    rx_buffer line;  /* the line being read */
    rx_buffer data;  /* data of the event being built */
    rx_buffer event; /* its type */
    rx_buffer id;    /* the last event id, carried forward */
    long long retry; /* retry of the event being built, -1: none */
    int bom_checked;
    int after_cr; /* the last byte was CR: a following LF belongs to it */
    int saw_event_field;
} rx_sse;

/* Receives each dispatched event; returns 0, or -1 to stop with an error. */
typedef int (*rx_sse_emit)(void *ctx, const rx_sse *p, int has_retry);

static void rx_sse_init(rx_sse *p)
{
    memset(p, 0, sizeof(*p));
    p->retry = -1;
}

static void rx_sse_free(rx_sse *p)
{
    rx_buffer_free(&p->line);
    rx_buffer_free(&p->data);
    rx_buffer_free(&p->event);
    rx_buffer_free(&p->id);
}

static int rx_sse_is_field(const char *name, size_t n, const char *want)
{
    size_t len = strlen(want);
    return n == len && memcmp(name, want, len) == 0;
}

/* One complete line (without its line end). */
static int rx_sse_line(rx_sse *p, rx_sse_emit emit, void *ctx)
{
    const char *s = p->line.data;
    size_t n = p->line.len;
    if (n == 0) { /* blank line: dispatch */
        int rc = 0;
        if (p->data.len > 0) {
            p->data.len--; /* the "\n" after the last data line */
            rc = emit(ctx, p, p->retry >= 0);
        }
        p->data.len = 0;
        p->event.len = 0;
        p->retry = -1;
        return rc;
    }
    if (s[0] == ':') {
        return 0; /* comment */
    }
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    const char *value = colon ? colon + 1 : s + n;
    size_t value_len = colon ? n - name_len - 1 : 0;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (rx_sse_is_field(s, name_len, "data")) {
        if (rx_buffer_append(&p->data, value, value_len) < 0 ||
            rx_buffer_append(&p->data, "\n", 1) < 0) {
            return -1;
        }
    } else if (rx_sse_is_field(s, name_len, "event")) {
        p->event.len = 0;
        return rx_buffer_append(&p->event, value, value_len);
    } else if (rx_sse_is_field(s, name_len, "id")) {
        if (memchr(value, '\0', value_len) == NULL) {
            p->id.len = 0;
            return rx_buffer_append(&p->id, value, value_len);
        }
    } else if (rx_sse_is_field(s, name_len, "retry")) {
        long long ms = 0;
        size_t i = 0;
        for (; i < value_len && value[i] >= '0' && value[i] <= '9'; i++) {
            ms = ms * 10 + (value[i] - '0');
            if (ms > 1000000000000LL) {
                ms = 1000000000000LL;
            }
        }
        if (value_len > 0 && i == value_len) {
            p->retry = ms;
        }
    }
    return 0;
}

static int rx_sse_feed(rx_sse *p, const char *bytes, size_t len, rx_sse_emit emit, void *ctx)
{
    size_t i = 0;
    if (!p->bom_checked) {
        /* the BOM may itself arrive in pieces: wait for three bytes */
        size_t have = p->line.len;
        while (have < 3 && i < len) {
            if (rx_buffer_append(&p->line, bytes + i, 1) < 0) {
                return -1;
            }
            i++;
            have++;
        }
        if (have < 3 && memcmp(p->line.data, "\xEF\xBB\xBF", have) == 0) {
            return 0; /* still could be a BOM */
        }
        p->bom_checked = 1;
        const char *head = p->line.data;
        size_t head_len = p->line.len;
        size_t skip = (head_len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
        /* re-feed what was held back, through the normal path */
        char held[3];
        size_t held_len = head_len - skip;
        memcpy(held, head + skip, held_len);
        p->line.len = 0;
        if (held_len > 0 && rx_sse_feed(p, held, held_len, emit, ctx) < 0) {
            return -1;
        }
    }
    while (i < len) {
        char c = bytes[i];
        if (p->after_cr) {
            p->after_cr = 0;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\r' || c == '\n') {
            p->after_cr = c == '\r';
            int rc = rx_sse_line(p, emit, ctx);
            p->line.len = 0;
            if (rc < 0) {
                return -1;
            }
            i++;
            continue;
        }
        /* copy the run up to the next line end in one go */
        size_t j = i;
        while (j < len && bytes[j] != '\r' && bytes[j] != '\n') {
            j++;
        }
        if (rx_buffer_append(&p->line, bytes + i, j - i) < 0) {
            return -1;
        }
        i = j;
    }
    return 0;
}

#endif
