/*
 * signer.h - the signer process (signer.c): the only part of phitraild
 * that reads the signing key. It signs the checkpoint and cut bodies the
 * collector sends it over the protocol of common/protocol/privsep.h, and
 * nothing else.
 */
#ifndef PHITRAILD_SIGNER_H
#define PHITRAILD_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "checkpoint.h"
#include "config.h"

/* How the store process gets a signer: from its parent (broker.c), with
 * the collector's end of the signer's socket and its pid. 0 or -errno. */
typedef int signer_spawner(int *fd, pid_t *pid);

/* What signer_fork needs: the key file and the user to drop to. */
int signer_configure(const struct config *cfg);
/* Forks one signer (signer_configure first) without waiting for READY:
 * the privileged parent does this for the store process. 0 or -errno. */
int signer_fork(int *fd, pid_t *pid);

/*
 * Starts the signer (forked here, or got from spawner when not NULL): it
 * loads the key at cfg->key_file (creating it, and <key_file>.pub, when
 * missing), drops to the "phitrail" user when started as root and that
 * user exists, drops every capability, sets no_new_privs, undumpable, and
 * a seccomp filter of read, write, clock_gettime, sigaltstack and exit,
 * then says it is ready with its public key. Call before anything reads
 * untrusted input. 0, or a negative errno when there is no usable key
 * (the signer logged why) or no process could be started.
 */
int signer_start(const struct config *cfg, signer_spawner *spawner);

/* The public key the signer signs with (known after signer_start). */
const unsigned char *signer_public_key(void);

/* Signs cp (its key id and signature are set): 0, -EPIPE when no signer
 * answers (one new one is started and asked first), -EBADMSG or another
 * code the signer refused it with, -EKEYREJECTED when its answer does not
 * verify. */
int signer_sign_checkpoint(struct checkpoint *cp);

/* The same for a retention cut made with checkpoint_cut_make(..., NULL). */
int signer_sign_cut(struct checkpoint_cut *cut);

/* Notices, at most once a second, a signer that died, and starts another.
 * Call every round. */
void signer_tick(void);

/* Ends the signer (it exits when its socket closes) and reaps it. */
void signer_stop(void);

/* For tests: the signer's pid and one raw exchange (a frame of type with
 * len body bytes; the answer's type and body into answer, room bytes):
 * 0 or a negative errno. */
pid_t signer_pid(void);
int signer_exchange(uint16_t type, const void *body, size_t len, uint16_t *answer_type,
		    unsigned char *answer, size_t room, size_t *answer_len);

#endif
