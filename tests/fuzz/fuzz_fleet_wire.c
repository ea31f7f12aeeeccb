/*
 * fuzz_fleet_wire.c - fleet_wire_decode on arbitrary messages: the input
 * is split at NUL bytes into the subject, the ten header values (an empty
 * field: header absent) and the data. Decoding never crashes or reads
 * outside the input; an accepted record's data always hashes to its leaf
 * and names its id (also the record handed back, fleet_wire_in.record,
 * which odd-sized inputs ask for); an error always says why.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fleet_wire.h"
#include "record.h"

#define FIELDS 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[1 << 16];
	static char arena[RECORD_ARENA_BYTES];
	struct record r;
	const char *field[FIELDS] = { 0 };
	struct fleet_wire_in in;
	struct fleet_message m;
	const char *why = NULL;
	size_t pos = 0, i;
	merkle_hash leaf;
	int rc;

	if (size >= sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i < FIELDS && pos <= size; i++) {
		size_t n = strlen(copy + pos);

		field[i] = n > 0 ? copy + pos : NULL;
		pos += n + 1;
	}
	memset(&in, 0, sizeof(in));
	in.subject = field[0];
	in.version = field[1];
	in.kind = field[2];
	in.host = field[3];
	in.store = field[4];
	in.id = field[5];
	in.leaf = field[6];
	in.key = field[7];
	in.tree_size = field[8];
	in.checkpoint_kind = field[9];
	in.data = pos <= size ? (const unsigned char *)data + pos : NULL;
	in.len = pos <= size ? size - pos : 0;
	if (size % 2 == 1) {
		in.record = &r;
		in.arena = arena;
		in.arena_size = sizeof(arena);
	}
	rc = fleet_wire_decode(&in, "phitrail", &m, &why);
	if (rc < 0) {
		assert(why != NULL);
		return 0;
	}
	assert(m.len == in.len && m.id >= 1);
	assert(strlen(m.host) < sizeof(m.host) && strlen(m.store) == FLEET_STORE_HEX);
	if (m.kind == FLEET_RECORD) {
		merkle_leaf_hash(m.data, m.len, leaf);
		assert(memcmp(leaf, m.leaf, sizeof(leaf)) == 0);
		assert(in.record == NULL || r.id == m.id);
	}
	return 0;
}
