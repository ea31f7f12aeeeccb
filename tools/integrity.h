/*
 * integrity.h - reading a phitrail store file directly and read-only, for
 * the verbs that check or prove it (verify, prove, checkpoint, export):
 * opening it, the public key, the signed chain, and a Merkle source over
 * the stored leaves that knows about retention cuts (integrity.c).
 */
#ifndef PHITRAIL_INTEGRITY_H
#define PHITRAIL_INTEGRITY_H

#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "merkle.h"

#define INTEGRITY_HEX(n) (2 * (n) + 1)

/* Where the store and the public key are: --config FILE or --db FILE, and
 * --key FILE (default: <key_file>.pub of the configuration). */
struct integrity_where {
	const char *config_path;           /* NULL: $PHITRAIL_CONFIG or default */
	const char *db_path;               /* --db: a store file, no config */
	const char *key_path;              /* --key */
};

/*
 * Opens the store read-only (SQLite mode=ro, no journal written) and fills
 * key_default with <key_file>.pub of the configuration ("" with --db).
 * Returns CLI_EXIT_OK, or CLI_EXIT_FAILURE after saying why on stderr.
 */
int integrity_open(const char *verb, const struct integrity_where *where,
		   sqlite3 **db, char key_default[PATH_MAX + 8]);

/* Reads the public key of --key, else key_default: CLI_EXIT_* as above. */
int integrity_public_key(const char *verb, const struct integrity_where *where,
			 const char *key_default,
			 unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* One statement of the signed chain. */
struct chain_entry {
	int64_t seq;                       /* row seq in the checkpoints table */
	int is_cut;
	uint64_t size;                     /* tree size, or cut size */
	merkle_hash root;
	uint64_t time_ns;
	unsigned char hash[MERKLE_HASH_BYTES];
	struct checkpoint cp;              /* !is_cut */
};

struct chain {
	struct chain_entry *entries;       /* oldest first */
	size_t count;
	int has_cut;
	struct checkpoint_cut cut;         /* the newest cut, when has_cut */
};

/*
 * Loads every chain row and checks it: the signed bytes decode, the
 * signature is public_key's, the columns say what the bytes say, each
 * statement names the previous one's hash (the first names zeros),
 * checkpoint sizes never shrink nor fall below a cut, cuts only grow.
 * Returns 0, -EBADMSG with problem set to a sentence naming the first bad
 * statement, or -EIO/-ENOMEM.
 */
int integrity_load_chain(sqlite3 *db, const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES],
			 struct chain *chain, char *problem, size_t problem_size);
void integrity_chain_free(struct chain *chain);

/* The newest checkpoint (not cut) of the chain, or NULL. */
const struct chain_entry *integrity_last_checkpoint(const struct chain *chain);

/*
 * Without checking signatures (verify does that): the newest checkpoint
 * whose tree size is above `above` (-1: any) into cp, and when cut is not
 * NULL the newest retention cut (*has_cut 1) or none (0). 0, -ENOENT (no
 * such checkpoint), -EBADMSG (one does not decode), -ENOTDIR (no
 * checkpoints table: not a phitrail store), -EIO.
 */
int integrity_newest_signed(sqlite3 *db, int64_t above, struct checkpoint *cp,
			    struct checkpoint_cut *cut, int *has_cut);

/* A merkle_source over the store's stored leaf hashes (leaf i = record
 * i+1); below a retention cut only the cut's frontier subtrees exist. */
struct integrity_source {
	sqlite3 *db;
	sqlite3_stmt *range;
	sqlite3_stmt *one;
	const struct checkpoint_cut *cut;  /* NULL: no cut */
};

int integrity_source_init(struct integrity_source *s, sqlite3 *db,
			  const struct checkpoint_cut *cut);
void integrity_source_fini(struct integrity_source *s);
struct merkle_source integrity_merkle_source(struct integrity_source *s);

/* RFC 3339 UTC of nanoseconds since the epoch. */
void integrity_time_text(uint64_t ns, char out[48]);

/* Lower-case hex of len bytes into out (2*len+1). */
void integrity_hex(const unsigned char *bytes, size_t len, char *out);

/* Parses exactly 2*len hex digits: 0 or -EINVAL. */
int integrity_unhex(const char *text, size_t text_len, unsigned char *out, size_t len);

#endif
