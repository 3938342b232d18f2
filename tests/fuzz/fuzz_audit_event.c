/* layer: audit */
/* The canonical event parser and encoder on arbitrary bytes (audit/event.h):
 *   - whatever parses re-encodes to exactly the same bytes (the parser accepts nothing the
 *     encoder would not write), unless the encoder refuses a credential-shaped value;
 *   - any bytes put into any string field encode to text that parses and re-encodes the same.
 * Neither may crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/event.h"
#include "audit/event_internal.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int any_secret(const aud_event_t *ev)
{
    for (size_t i = 0; i < ev->n_details; i++) {
        const aud_detail_t *d = &ev->details[i];
        if (d->type == AUD_DETAIL_STR && aud_looks_secret(d->str))
            return 1;
        for (size_t j = 0; d->type == AUD_DETAIL_LIST && j < d->n_items; j++)
            if (aud_looks_secret(d->items[j]))
                return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aud_parsed_t p;
    memset(&p, 0, sizeof(p));
    cmn_buf_t b;
    cmn_buf_init(&b, AUD_MAX_EVENT_BYTES);
    char why[200];
    if (aud_event_parse(&p, (const char *)data, size, why, sizeof(why)) == 0) {
        int rc = aud_event_encode(&p.ev, &b);
        if (rc == 0) {
            if (b.len != size || memcmp(b.data, data, size) != 0)
                abort();
        } else if (!(rc == CMN_ERR_INVAL && any_secret(&p.ev))) {
            abort();
        }
        aud_columns_t c;
        aud_event_columns(&p.ev, &c);
    } else if (!why[0]) {
        abort(); /* a refusal always says why */
    }

    /* The input as the value of string fields. */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *items[2] = {s, "x"};
    aud_event_t ev;
    aud_event_init(&ev, AUD_KIND_REQUEST);
    ev.client.user_agent = s;
    ev.request.path = s;
    ev.actor.groups = items;
    ev.actor.n_groups = 2;
    aud_event_detail_list(&ev, "files", items, 2);
    cmn_buf_clear(&b);
    int rc = aud_event_encode(&ev, &b);
    if (rc == 0) {
        if (aud_event_parse(&p, b.data, b.len, why, sizeof(why)) != 0)
            abort();
        cmn_buf_t b2;
        cmn_buf_init(&b2, AUD_MAX_EVENT_BYTES);
        if (aud_event_encode(&p.ev, &b2) != 0 || b2.len != b.len ||
            memcmp(b2.data, b.data, b.len) != 0)
            abort();
        cmn_buf_free(&b2);
    } else if (!(rc == CMN_ERR_INVAL && aud_looks_secret(s))) {
        abort();
    }
    free(s);
    cmn_buf_free(&b);
    aud_parsed_free(&p);
    return 0;
}
