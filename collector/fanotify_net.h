/*
 * fanotify_net.h - what the two halves of the kernel safety net share:
 * fanotify.c (the access group, the merge with shim records, the store)
 * and fanotify_change.c (the change group: created, deleted, renamed,
 * attributes).
 */
#ifndef PHITRAILD_FANOTIFY_NET_H
#define PHITRAILD_FANOTIFY_NET_H

#include <stdint.h>

#include "record.h"

/* A change or access the kernel saw, with the real path(s). */
struct fan_report {
	int32_t pid;
	enum event_type type;
	const char *path;
	const char *path2;               /* a rename's new name, else NULL */
	const char *mode;                /* "0640" for a permissions change */
};

/* Queues r for the merge window when a rule matches path (or path2):
 * identity read from /proc now. Viewed and Modified are reported once per
 * process, file and kind within the dedup window; changes every time. */
void safetynet_queue(const struct fan_report *r);

/* The kernel dropped events: Audit Records Lost, through the collector's
 * own event path. */
void safetynet_lost(const char *reason);

/* Marks dir and the directories below it in both groups (a new folder). */
void safetynet_mark_tree(const char *dir);

/* One kernel event read (for status). */
void safetynet_count_event(void);

/* The change group (fanotify_change.c). change_start: 0, or a negative
 * errno when the kernel has no such group (the access group runs alone). */
int change_start(void);
void change_mark_dir(const char *dir, int dir_fd);
void change_note_file(int dir_fd, const char *name);
void change_stop(void);
const char *change_state(void);

#endif
