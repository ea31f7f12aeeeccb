/*
 * forward_window.c - the acknowledgement window (forward_window.h): a ring
 * of bits over the ids in flight and the contiguous cursor.
 * Owns no I/O and no threads; must never move the cursor past an id that
 * is not acknowledged.
 */
#include <errno.h>
#include <string.h>

#include "forward_window.h"

static size_t bit_word(int64_t id)
{
	return (size_t)((uint64_t)id % FORWARD_WINDOW_MAX) / 64;
}

static uint64_t bit_mask(int64_t id)
{
	return (uint64_t)1 << ((uint64_t)id % 64);
}

void forward_window_init(struct forward_window *w, int64_t cursor)
{
	memset(w->acked, 0, sizeof(w->acked));
	w->cursor = cursor;
	w->sent = cursor;
}

int64_t forward_window_room(const struct forward_window *w)
{
	return FORWARD_WINDOW_MAX - (w->sent - w->cursor);
}

/* Moves the cursor over acknowledged ids, clearing their bits. */
static int advance(struct forward_window *w)
{
	int moved = 0;

	while (w->cursor < w->sent &&
	       (w->acked[bit_word(w->cursor + 1)] & bit_mask(w->cursor + 1))) {
		w->acked[bit_word(w->cursor + 1)] &= ~bit_mask(w->cursor + 1);
		w->cursor++;
		moved = 1;
	}
	return moved;
}

int forward_window_sent(struct forward_window *w, int64_t id)
{
	int64_t absent;

	if (id <= w->sent)
		return -ERANGE;
	if (id - w->cursor > FORWARD_WINDOW_MAX) {
		if (w->cursor != w->sent)
			return -ERANGE;   /* wait until the window drains */
		w->cursor = w->sent = id - 1;   /* a long run of absent ids */
	}
	for (absent = w->sent + 1; absent < id; absent++)
		w->acked[bit_word(absent)] |= bit_mask(absent);
	w->acked[bit_word(id)] &= ~bit_mask(id);
	w->sent = id;
	(void)advance(w);
	return 0;
}

int forward_window_ack(struct forward_window *w, int64_t id)
{
	if (id <= w->cursor || id > w->sent)
		return 0;
	w->acked[bit_word(id)] |= bit_mask(id);
	return advance(w);
}

int forward_window_outstanding(const struct forward_window *w, int64_t id)
{
	return id > w->cursor && id <= w->sent &&
	    !(w->acked[bit_word(id)] & bit_mask(id));
}

void forward_window_rewind(struct forward_window *w)
{
	int64_t id;

	for (id = w->cursor + 1; id <= w->sent; id++)
		w->acked[bit_word(id)] &= ~bit_mask(id);
	w->sent = w->cursor;
}
