/*
 * fuzz_fleet_again.c - fleet_wire_again_decode on arbitrary data (what a
 * host takes from its "<prefix>-again" subject): it never crashes or reads
 * outside the input, and what it accepts is a store id of 32 lower-case
 * hex digits and a range of 1..FLEET_AGAIN_MAX ids from 1 that encodes
 * back to the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fleet_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_again a;
	char text[FLEET_AGAIN_TEXT_MAX + 1];
	int len;

	if (fleet_wire_again_decode(data, size, &a) < 0)
		return 0;
	assert(strlen(a.store) == FLEET_STORE_HEX);
	assert(a.from >= 1 && a.to >= a.from && a.to - a.from < FLEET_AGAIN_MAX);
	len = fleet_wire_again_encode(&a, text, sizeof(text));
	assert(len > 0 && (size_t)len == size && memcmp(text, data, size) == 0);
	return 0;
}
