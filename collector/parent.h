/*
 * parent.h - phitraild's privileged parent (parent.c): the ingest socket,
 * the store process and the answers to its requests.
 */
#ifndef PHITRAILD_PARENT_H
#define PHITRAILD_PARENT_H

#include "config.h"

/*
 * Forks the store process (which closes pidfile_fd: the lock is the
 * parent's alone), waits until it follows, listens for writers and
 * runs until SIGTERM or SIGINT (passed on to the store process) or until
 * the store process ends. Returns phitraild's exit status.
 */
int parent_run(const struct config *cfg, int pidfile_fd);

#endif
