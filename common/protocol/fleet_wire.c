/*
 * fleet_wire.c - the checks of a fleet message (fleet_wire.h) that the
 * aggregator runs on everything it takes from NATS before it stores
 * anything, the subject a forwarder publishes on, and the requests to
 * ship again that a forwarder takes from the aggregator.
 * Owns no I/O; must never trust a length, a number or a name from the
 * message before checking it, nor accept a record whose bytes do not hash
 * to its leaf.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fleet_wire.h"
#include "record.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lower-case hex digits into n bytes: 0 or -1. */
static int hex_decode(const char *text, unsigned char *out, size_t n)
{
	size_t i;

	if (text == NULL || strlen(text) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void fleet_wire_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Decimal 1..INT64_MAX, no sign, no leading zero: 0 or -1. */
static int parse_id(const char *text, int64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (text == NULL || text[0] < '1' || text[0] > '9')
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9' || i >= 19)
			return -1;
		n = n * 10 + (uint64_t)(text[i] - '0');
	}
	if (n > INT64_MAX)
		return -1;
	*out = (int64_t)n;
	return 0;
}

static int is_token(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i + 1 >= max)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int fleet_wire_subject(char *out, size_t size, const char *prefix,
		       const char *workspace_token, const char *host_token,
		       enum fleet_kind kind)
{
	int n = snprintf(out, size, "%s%s.%s.%s%s", prefix,
			 kind == FLEET_AGAIN ? FLEET_SUBJECT_AGAIN : "",
			 workspace_token, host_token, kind == FLEET_CHECKPOINT ?
			 "." FLEET_SUBJECT_CHECKPOINTS : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* subject = prefix.<ws>.<host>[.checkpoints]: takes ws, checks host. */
static int check_subject(const struct fleet_wire_in *in, const char *prefix,
			 struct fleet_message *out)
{
	size_t plen = strlen(prefix);
	const char *ws, *dot, *host_end;
	size_t wlen, hlen;

	if (in->subject == NULL || strncmp(in->subject, prefix, plen) != 0 ||
	    in->subject[plen] != '.')
		return -1;
	ws = in->subject + plen + 1;
	dot = strchr(ws, '.');
	if (dot == NULL || dot == ws)
		return -1;
	wlen = (size_t)(dot - ws);
	if (wlen >= sizeof(out->workspace))
		return -1;
	memcpy(out->workspace, ws, wlen);
	out->workspace[wlen] = '\0';
	if (!is_token(out->workspace, sizeof(out->workspace)))
		return -1;
	host_end = strchr(dot + 1, '.');
	hlen = host_end ? (size_t)(host_end - dot - 1) : strlen(dot + 1);
	if (hlen != strlen(out->host) || strncmp(dot + 1, out->host, hlen) != 0)
		return -1;
	if (out->kind == FLEET_CHECKPOINT)
		return host_end != NULL &&
		    strcmp(host_end + 1, FLEET_SUBJECT_CHECKPOINTS) == 0 ? 0 : -1;
	return host_end == NULL ? 0 : -1;
}

static int decode_record(const struct fleet_wire_in *in, struct fleet_message *out,
			 const char **why)
{
	static char own_arena[RECORD_ARENA_BYTES];
	merkle_hash computed;
	struct record own, *r = in->record != NULL ? in->record : &own;
	char *arena = in->record != NULL ? in->arena : own_arena;
	size_t arena_size = in->record != NULL ? in->arena_size : sizeof(own_arena);
	const char *record_why = NULL;

	if (hex_decode(in->leaf, out->leaf, sizeof(out->leaf)) < 0) {
		*why = "Phitrail-Leaf is not 64 hex digits";
		return -EPROTO;
	}
	merkle_leaf_hash(in->data, in->len, computed);
	if (memcmp(computed, out->leaf, sizeof(computed)) != 0) {
		*why = "the record's bytes do not hash to its leaf hash (altered)";
		return -EILSEQ;
	}
	if (record_decode(in->data, in->len, r, arena, arena_size,
			  &record_why) < 0) {
		*why = "the data is not a record";
		return -EBADMSG;
	}
	if (r->id != out->id) {
		*why = "the record's own id is not Phitrail-Id";
		return -EBADMSG;
	}
	return 0;
}

static int decode_checkpoint(const struct fleet_wire_in *in,
			     struct fleet_message *out, const char **why)
{
	static struct checkpoint_cut cut;
	struct checkpoint cp;
	int64_t tree_size;
	int rc;

	if (hex_decode(in->key, out->public_key, sizeof(out->public_key)) < 0 ||
	    parse_id(in->tree_size, &tree_size) < 0 || in->checkpoint_kind == NULL) {
		*why = "Phitrail-Key, Phitrail-Tree-Size or Phitrail-Checkpoint-Kind "
			"missing or malformed";
		return -EPROTO;
	}
	if (strcmp(in->checkpoint_kind, "checkpoint") == 0) {
		if (checkpoint_decode(in->data, in->len, &cp) < 0) {
			*why = "the data is not a signed checkpoint";
			return -EBADMSG;
		}
		rc = checkpoint_verify(&cp, out->public_key);
		if ((int64_t)cp.tree_size != tree_size)
			rc = -EBADMSG;
		out->is_cut = 0;
	} else if (strcmp(in->checkpoint_kind, "cut") == 0) {
		if (checkpoint_cut_decode(in->data, in->len, &cut) < 0) {
			*why = "the data is not a signed cut";
			return -EBADMSG;
		}
		rc = checkpoint_cut_verify(&cut, out->public_key);
		if ((int64_t)cut.cut_size != tree_size)
			rc = -EBADMSG;
		out->is_cut = 1;
	} else {
		*why = "Phitrail-Checkpoint-Kind is neither checkpoint nor cut";
		return -EPROTO;
	}
	if (rc == -EBADMSG) {
		*why = "Phitrail-Tree-Size is not the signed size";
		return rc;
	}
	if (rc < 0) {
		*why = "the checkpoint's signature does not hold for Phitrail-Key";
		return -EKEYREJECTED;
	}
	out->tree_size = tree_size;
	return 0;
}

int fleet_wire_decode(const struct fleet_wire_in *in, const char *prefix,
		      struct fleet_message *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (in->version == NULL || strcmp(in->version, FLEET_WIRE_VERSION) != 0) {
		*why = "Phitrail-Version missing or not 1";
		return -EPROTO;
	}
	if (in->kind != NULL && strcmp(in->kind, FLEET_KIND_RECORD) == 0)
		out->kind = FLEET_RECORD;
	else if (in->kind != NULL && strcmp(in->kind, FLEET_KIND_CHECKPOINT) == 0)
		out->kind = FLEET_CHECKPOINT;
	else {
		*why = "Phitrail-Kind missing or unknown";
		return -EPROTO;
	}
	if (!is_token(in->host, sizeof(out->host))) {
		*why = "Phitrail-Host missing or not a subject token";
		return -EPROTO;
	}
	strcpy(out->host, in->host);   /* is_token bounded it */
	if (in->store == NULL || strlen(in->store) != FLEET_STORE_HEX) {
		*why = "Phitrail-Store is not 32 hex digits";
		return -EPROTO;
	}
	{
		unsigned char raw[FLEET_STORE_HEX / 2];

		if (hex_decode(in->store, raw, sizeof(raw)) < 0) {
			*why = "Phitrail-Store is not 32 hex digits";
			return -EPROTO;
		}
	}
	memcpy(out->store, in->store, FLEET_STORE_HEX + 1);
	if (parse_id(in->id, &out->id) < 0) {
		*why = "Phitrail-Id is not a number from 1";
		return -EPROTO;
	}
	if (check_subject(in, prefix, out) < 0) {
		*why = "the subject does not name the host of Phitrail-Host "
			"(or is not <prefix>.<workspace>.<host>)";
		return -EXDEV;
	}
	if (in->data == NULL || in->len == 0 ||
	    in->len > (out->kind == FLEET_RECORD ? RECORD_MAX_BYTES :
		       CHECKPOINT_CUT_MAX_BYTES)) {
		*why = "the data is empty or longer than a record or checkpoint";
		return -EMSGSIZE;
	}
	out->data = in->data;
	out->len = in->len;
	return out->kind == FLEET_RECORD ? decode_record(in, out, why) :
		decode_checkpoint(in, out, why);
}

static int valid_store_id(const char *store)
{
	size_t i;

	for (i = 0; i < FLEET_STORE_HEX; i++)
		if (hex_value(store[i]) < 0)
			return 0;
	return store[FLEET_STORE_HEX] == '\0';
}

int fleet_wire_again_encode(const struct fleet_again *a, char *out, size_t size)
{
	int n;

	if (!valid_store_id(a->store) || a->from < 1 || a->to < a->from ||
	    a->to - a->from >= FLEET_AGAIN_MAX)
		return -EINVAL;
	n = snprintf(out, size, "%s %lld %lld", a->store, (long long)a->from,
		     (long long)a->to);
	return n < 0 || (size_t)n >= size ? -EINVAL : n;
}

int fleet_wire_again_decode(const unsigned char *data, size_t len,
			    struct fleet_again *out)
{
	char text[FLEET_AGAIN_TEXT_MAX + 1], *from, *to;

	if (data == NULL || len <= FLEET_STORE_HEX + 1 || len > FLEET_AGAIN_TEXT_MAX ||
	    memchr(data, '\0', len) != NULL)
		return -EPROTO;
	memcpy(text, data, len);
	text[len] = '\0';
	if (text[FLEET_STORE_HEX] != ' ')
		return -EPROTO;
	text[FLEET_STORE_HEX] = '\0';
	from = text + FLEET_STORE_HEX + 1;
	to = strchr(from, ' ');
	if (to == NULL)
		return -EPROTO;
	*to++ = '\0';
	if (!valid_store_id(text) || parse_id(from, &out->from) < 0 ||
	    parse_id(to, &out->to) < 0 || out->to < out->from ||
	    out->to - out->from >= FLEET_AGAIN_MAX)
		return -EPROTO;
	memcpy(out->store, text, FLEET_STORE_HEX + 1);
	return 0;
}
