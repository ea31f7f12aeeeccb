/*
 * broker.h - what the privileged parent and the store process ask each
 * other (broker.c, broker_store.c), in privsep.h frames over two SOCK_SEQPACKET
 * socketpairs: on the adopt pair the parent sends ADOPT and the store
 * answers; on the request pair the store asks (OPEN, SPAWN_SIGNER) and the
 * parent answers. The parent serves requests while it waits, so neither
 * side can wait on the other forever.
 */
#ifndef PHITRAILD_BROKER_H
#define PHITRAILD_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "identity.h"
#include "privsep.h"

#define BROKER_TIMEOUT_MS 10000

/* One frame with at most one descriptor (-1: none). 0 or -errno. */
int broker_send(int sock, uint16_t type, const void *body, size_t len, int fd);
/*
 * One frame within timeout_ms into buf (PRIVSEP_MAX_FRAME + 1 bytes),
 * decoded into f; *fd the descriptor it carried or -1. 0, -ETIMEDOUT,
 * -EPIPE (the other side is gone) or -EBADMSG (not a frame, or more than
 * one descriptor: what came is closed).
 */
int broker_recv(int sock, int timeout_ms, unsigned char *buf, struct privsep_frame *f,
		int *fd);

/* An ERROR frame with a positive errno value. */
int broker_send_error(int sock, int errno_value);

/* ---- the parent (broker.c) ---- */

/* The sockets and the parent's own descriptors of the spool directories. */
void broker_parent_init(int adopt_sock, int request_sock, const char *spool);
int broker_active_dirfd(void);
int broker_incoming_dirfd(void);
/* The uid given to files the parent makes in active/ (-1: keep). */
void broker_set_owner(uid_t uid, gid_t gid);
/*
 * Asks the store process to follow a spool file (fd open for reading,
 * taken in every case) and waits for its answer, serving its requests
 * meanwhile. 0 or a negative errno (-ETIMEDOUT, -EPIPE: no store).
 */
int broker_adopt(uint8_t where, const char *base, int fd,
		 const struct writer_identity *who, uint32_t flags);
/* Waits for the store's READY: 0 or a negative errno. */
int broker_wait_ready(int timeout_ms);
/* Answers every request waiting (the loop calls it when readable). */
void broker_serve(void);
/* The request socket, for the parent's loop. */
int broker_request_fd(void);
/* The pids of signers started for the store (for reaping: 1 if pid was one). */
int broker_forget_signer(pid_t pid);

/* Passes a program noticed running unaudited to the store (for status). */
struct status_unaudited;
void broker_unaudited(const struct status_unaudited *e);

/* ---- the store process (broker_store.c) ---- */

/* Remembers the sockets; then, once following, watches the adopt one. */
void broker_store_init(int adopt_sock, int request_sock);
int broker_store_watch(void);
/* The parent opens <spool>/<active|incoming>/base for reading: fd or -errno. */
int broker_open(uint8_t where, const char *base);
/* The parent opens a directory from a fanotify file handle (mount_fd: a
 * directory on its file system), O_PATH: fd or -errno. */
struct file_handle;
int broker_resolve(int mount_fd, const struct file_handle *fh);
/* The exe of process pid (started at start_time_ticks) read by the parent
 * into out: its length, or -errno. */
ssize_t broker_exe(pid_t pid, uint64_t start_time_ticks, char *out, size_t room);
/* A new signer from the parent: 0 with its socket and pid, or -errno. */
int broker_spawn_signer(int *fd, pid_t *pid);
/* Tells the parent the store process follows and is confined. */
int broker_say_ready(void);
void broker_store_stop(void);

#endif
