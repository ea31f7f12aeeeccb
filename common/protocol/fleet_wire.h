/*
 * fleet_wire.h - the messages a host's forwarder publishes to NATS
 * JetStream and the aggregator accepts (version 1). A message is a NATS
 * message with headers; its data is exactly what the host stored.
 *
 * Subject:  <prefix>.<workspace>.<host>              a record
 *           <prefix>.<workspace>.<host>.checkpoints  a signed checkpoint
 *   prefix is [forward] subject_prefix; workspace and host are subject
 *   tokens (letters, digits, '-', '_'; any other byte of the configured
 *   name becomes '_'), at most FLEET_NAME_MAX - 1 bytes each.
 * Headers (all required unless said otherwise; values are ASCII):
 *   Nats-Msg-Id         "<store>:r<id>" for a record, "<store>:c<seq>" for a
 *                       checkpoint: JetStream drops a copy inside its
 *                       duplicate window
 *   Phitrail-Version    "1"
 *   Phitrail-Kind       "record" or "checkpoint"
 *   Phitrail-Host       the host token; must equal the subject's host
 *   Phitrail-Store      the host store's id: 32 lower-case hex digits
 *   Phitrail-Id         the record id (or the checkpoint's seq in the chain),
 *                       decimal, 1..2^63-1, no sign, no leading zero
 *   Phitrail-Leaf       record only: the leaf hash, 64 lower-case hex digits
 *   Phitrail-Key        checkpoint only: the host's Ed25519 public key, 64
 *                       lower-case hex digits
 *   Phitrail-Tree-Size  checkpoint only: decimal, what the signed bytes say
 *   Phitrail-Checkpoint-Kind  checkpoint only: "checkpoint" or "cut"
 * Data:
 *   record      the exact stored msgpack (1..RECORD_MAX_BYTES bytes); it
 *               must decode as a record whose id equals Phitrail-Id, and
 *               SHA-256(0x00 || data) must equal Phitrail-Leaf
 *   checkpoint  the exact signed bytes (checkpoint.h: CHECKPOINT_BYTES, or
 *               a cut), signed by Phitrail-Key, of tree size
 *               Phitrail-Tree-Size
 * Whether the key is the one this store's checkpoints were signed with
 * before is the aggregator's to check (aggregate.c), not the decoder's.
 *
 * Asking again: JetStream may acknowledge a record and still never deliver
 * it to a consumer (replicas of nats-server 2.9 that diverged after a node
 * or the whole cluster restarted while publishes were in flight), so the
 * aggregator asks a host for the records missing from its ids:
 *   Subject:  <prefix>-again.<workspace>.<host>   (outside the stream's
 *             <prefix>.>: a request is never stored)
 *   Data:     "<store> <from> <to>", ASCII, single spaces, nothing more:
 *             the host store's id (32 lower-case hex digits) and two
 *             record ids as Phitrail-Id, from <= to, at most
 *             FLEET_AGAIN_MAX ids. No headers, no reply.
 * The host publishes those of them it holds again, each with Nats-Msg-Id
 * "<store>:r<id>:a<round>" so that JetStream's duplicate window does not
 * drop them; the aggregator keeps one copy of each (store id, record id).
 */
#ifndef PHITRAIL_FLEET_WIRE_H
#define PHITRAIL_FLEET_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "merkle.h"

#define FLEET_WIRE_VERSION "1"
#define FLEET_NAME_MAX 64
#define FLEET_STORE_HEX 32
#define FLEET_SUBJECT_MAX (3 * FLEET_NAME_MAX + 16)
#define FLEET_MSG_ID_MAX (FLEET_STORE_HEX + 48)
#define FLEET_AGAIN_MAX 4096             /* record ids per request to ship again */
#define FLEET_AGAIN_TEXT_MAX (FLEET_STORE_HEX + 2 * 19 + 2)   /* its longest data */

#define FLEET_HEADER_VERSION "Phitrail-Version"
#define FLEET_HEADER_KIND "Phitrail-Kind"
#define FLEET_HEADER_HOST "Phitrail-Host"
#define FLEET_HEADER_STORE "Phitrail-Store"
#define FLEET_HEADER_ID "Phitrail-Id"
#define FLEET_HEADER_LEAF "Phitrail-Leaf"
#define FLEET_HEADER_KEY "Phitrail-Key"
#define FLEET_HEADER_TREE_SIZE "Phitrail-Tree-Size"
#define FLEET_HEADER_CHECKPOINT_KIND "Phitrail-Checkpoint-Kind"
#define FLEET_KIND_RECORD "record"
#define FLEET_KIND_CHECKPOINT "checkpoint"
#define FLEET_SUBJECT_CHECKPOINTS "checkpoints"
#define FLEET_SUBJECT_AGAIN "-again"

enum fleet_kind {
	FLEET_RECORD = 1,
	FLEET_CHECKPOINT,
	FLEET_AGAIN,                     /* a request to ship again */
};

struct record;

/* A received message as text fields (NULL: header absent). record, if
 * set, receives a valid record message's decoded record (its strings in
 * arena, arena_size bytes: RECORD_ARENA_BYTES), so that it is decoded once. */
struct fleet_wire_in {
	const char *subject;
	const char *version, *kind, *host, *store, *id, *leaf, *key;
	const char *tree_size, *checkpoint_kind;
	const unsigned char *data;
	size_t len;
	struct record *record;
	char *arena;
	size_t arena_size;
};

/* What a valid message says. Pointers point into the input. */
struct fleet_message {
	enum fleet_kind kind;
	char host[FLEET_NAME_MAX];
	char workspace[FLEET_NAME_MAX];
	char store[FLEET_STORE_HEX + 1];
	int64_t id;                      /* record id, or checkpoint seq */
	merkle_hash leaf;                /* record */
	unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES];  /* checkpoint */
	int64_t tree_size;               /* checkpoint */
	int is_cut;                      /* checkpoint: a retention cut */
	const unsigned char *data;
	size_t len;
};

/*
 * Checks in against the format above (prefix: the subject prefix expected)
 * and fills out. 0, or a negative code with *why naming what is wrong:
 * -EPROTO (a header missing or malformed, another version), -EXDEV (the
 * subject does not match the headers), -EMSGSIZE (data too long or empty),
 * -EBADMSG (data not a record, or its id is another), -EILSEQ (leaf hash
 * does not match the data), -EKEYREJECTED (checkpoint signature).
 */
int fleet_wire_decode(const struct fleet_wire_in *in, const char *prefix,
		      struct fleet_message *out, const char **why);

/* A request to ship again: a host store's ids from..to. */
struct fleet_again {
	char store[FLEET_STORE_HEX + 1];
	int64_t from, to;
};

/* The request's data into out (FLEET_AGAIN_TEXT_MAX bytes): its length,
 * or -EINVAL (a malformed store id or range). */
int fleet_wire_again_encode(const struct fleet_again *a, char *out, size_t size);
/* Checks data (len bytes, not NUL-terminated) against the request format
 * above: 0, or -EPROTO. */
int fleet_wire_again_decode(const unsigned char *data, size_t len,
			    struct fleet_again *out);

/* The subject of a host's records, checkpoints or requests to ship again:
 * 0, -ENAMETOOLONG. */
int fleet_wire_subject(char *out, size_t size, const char *prefix,
		       const char *workspace_token, const char *host_token,
		       enum fleet_kind kind);

/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void fleet_wire_hex(const unsigned char *bytes, size_t n, char *out);

#endif
