/*
 * store_process.h - the unprivileged store process (store_process.c):
 * following spool files, group commit, SQLite, checkpoints (with the
 * signer), queries, status, forwarders and the kernel safety net, under
 * the "phitrail" user, without capabilities, under seccomp
 * (store_confine.c).
 */
#ifndef PHITRAILD_STORE_PROCESS_H
#define PHITRAILD_STORE_PROCESS_H

#include <stddef.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* Whom the store process becomes. */
struct store_user {
	int change;          /* 1: setresuid/gid to uid/gid; 0: keep the uid */
	uid_t uid;
	gid_t gid;
	pid_t parent;        /* the privileged parent's pid */
};

/*
 * In the parent, before the fork: chooses the user (the "phitrail" user
 * when root and it exists) and gives it the spool folders and the store's
 * directory (store_confine.c says which). Always 0; u->change says.
 */
int store_confine_prepare(const struct config *cfg, struct store_user *u);
/* In the store process: user, capabilities, no_new_privs, seccomp. */
int store_confine(const struct config *cfg, const struct store_user *u);

/*
 * Forks the store process with its ends of the two broker socketpairs
 * (broker.h); it closes the parent_count descriptors of parent_fds (the
 * parent's ends, the pidfile: its lock must die with the parent). Returns
 * its pid in the parent, or -errno; the child never returns (it exits with
 * the collector's exit status).
 */
pid_t store_process_start(const struct config *cfg, struct store_user *u,
			  int adopt_sock, int request_sock, const int *parent_fds,
			  size_t parent_count);

/* Ends the store process at once: no atexit handler, no leak check. */
void store_process_exit(int status) __attribute__((noreturn));

/* phitraild --aggregate: one process, nothing from local writers. */
int store_process_aggregate(const struct config *cfg);

#endif
