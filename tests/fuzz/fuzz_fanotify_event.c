/*
 * fuzz_fanotify_event.c - fan_change_parse (collector/fanotify_event.c,
 * one event of the kernel safety net's change group) on arbitrary bytes,
 * stepping through them as the reader does. What parses stays within the
 * input, keeps handles within FAN_HANDLE_MAX and names NUL-terminated.
 * Unity build: includes the one collector file it needs.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "../../collector/fanotify_event.c"

static void check_name(const struct fan_dir_name *d)
{
	if (!d->present)
		return;
	assert(d->handle_bytes <= FAN_HANDLE_MAX);
	assert(memchr(d->name, '\0', sizeof(d->name)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fan_change_event e;
	size_t at = 0;
	long step;

	while (at < size) {
		step = fan_change_parse(data + at, size - at, &e);
		if (step < 0)
			break;
		assert(step >= (long)sizeof(struct fanotify_event_metadata));
		assert((size_t)step <= size - at);
		check_name(&e.where);
		check_name(&e.from);
		check_name(&e.to);
		at += (size_t)step;
	}
	return 0;
}
