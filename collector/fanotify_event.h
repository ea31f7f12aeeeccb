/*
 * fanotify_event.h - one event of a fanotify group that reports directory
 * handles and names (FAN_REPORT_DFID_NAME), taken apart (fanotify_event.c).
 */
#ifndef PHITRAILD_FANOTIFY_EVENT_H
#define PHITRAILD_FANOTIFY_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define FAN_HANDLE_MAX 128           /* MAX_HANDLE_SZ */
#define FAN_NAME_MAX 256             /* NAME_MAX and its NUL */

/* A directory (its file system and handle) and a name in it. */
struct fan_dir_name {
	int present;
	uint64_t fsid;                   /* the two words of __kernel_fsid_t */
	int handle_type;
	uint32_t handle_bytes;           /* <= FAN_HANDLE_MAX */
	unsigned char handle[FAN_HANDLE_MAX];
	char name[FAN_NAME_MAX];
};

struct fan_change_event {
	uint64_t mask;
	int32_t pid;
	struct fan_dir_name where;       /* DFID_NAME: the one name */
	struct fan_dir_name from, to;    /* OLD_/NEW_DFID_NAME: a rename */
};

/*
 * Parses the event at buf (len bytes: what is left of the read buffer).
 * Returns the event's length (to step to the next), or -EBADMSG when the
 * metadata or an information record is short, overruns the event, has a
 * handle longer than FAN_HANDLE_MAX or a name without its NUL within the
 * record; records of other types are skipped. The overflow event carries
 * no record and parses with nothing present.
 */
long fan_change_parse(const void *buf, size_t len, struct fan_change_event *out);

#endif
