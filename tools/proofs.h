/*
 * proofs.h - the two files a third party checks with the public key alone
 * (formats in proofs.c): an inclusion proof of one record (`phitrail
 * prove`) and an export of a period (`phitrail export`), each written and
 * verified here.
 */
#ifndef PHITRAIL_PROOFS_H
#define PHITRAIL_PROOFS_H

#include <stdint.h>
#include <stdio.h>

#include "checkpoint.h"
#include "merkle.h"

#define PROOF_MAGIC "phitrail-proof 1"
#define EXPORT_MAGIC "phitrail-export 1"

/* Writes an inclusion proof (the text form of proofs.c). */
void proofs_write_inclusion(FILE *out, int64_t id, const void *bytes, size_t len,
			    const merkle_hash *proof, size_t proof_len,
			    const struct checkpoint *cp);

/* Checks a proof file: prints "ok: ..." or "FAILED: ..."; returns the exit
 * status (0 or 1). */
int proofs_verify_inclusion_file(const char *path,
				 const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* Checks an export file the same way. */
int proofs_verify_export_file(const char *path,
			      const unsigned char public_key[CHECKPOINT_PUBLIC_KEY_BYTES]);

/* One line "KEY HEX\n" of len bytes. */
void proofs_write_hex_line(FILE *out, const char *key, const void *bytes, size_t len);

#endif
