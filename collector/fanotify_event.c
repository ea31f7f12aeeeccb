/*
 * fanotify_event.c - takes apart one event of a fanotify group reporting
 * directory handles and names (FAN_REPORT_DFID_NAME; a rename with
 * FAN_RENAME carries an old and a new one). The layout, from
 * <linux/fanotify.h>:
 *
 *   struct fanotify_event_metadata    event_len (u32, the whole event),
 *                                     vers (u8), reserved, metadata_len
 *                                     (u16), mask (u64), fd, pid (s32)
 *   then records until event_len, each:
 *     fanotify_event_info_header      info_type (u8), pad, len (u16, the
 *                                     whole record)
 *     __kernel_fsid_t                 two s32
 *     struct file_handle              handle_bytes (u32), handle_type
 *                                     (s32), handle_bytes of handle
 *     name                            NUL-terminated (the _NAME types),
 *                                     padded to 4 bytes
 *
 * Every length comes from the kernel, and is still checked before use: a
 * short or overrunning record ends the parse with -EBADMSG. Copies what it
 * keeps; never reads past len; allocates nothing.
 */
#include <errno.h>
#include <string.h>
#include <sys/fanotify.h>

#include "fanotify_event.h"

#define INFO_HANDLE 20               /* and handle_type 4 */

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));        /* native order, any alignment */
	return v;
}

/* One DFID_NAME-style record of rec_len bytes into out: 0 or -EBADMSG. */
static int parse_dir_name(const unsigned char *rec, size_t rec_len,
			  struct fan_dir_name *out)
{
	uint32_t fsid0, fsid1, handle_bytes;
	int32_t handle_type;
	const unsigned char *name;
	size_t room, name_len;

	if (rec_len < INFO_HANDLE)
		return -EBADMSG;
	fsid0 = get_u32(rec + 4);
	fsid1 = get_u32(rec + 8);
	handle_bytes = get_u32(rec + 12);
	memcpy(&handle_type, rec + 16, sizeof(handle_type));
	if (handle_bytes > FAN_HANDLE_MAX || handle_bytes > rec_len - INFO_HANDLE)
		return -EBADMSG;
	name = rec + INFO_HANDLE + handle_bytes;
	room = rec_len - INFO_HANDLE - handle_bytes;
	name_len = strnlen((const char *)name, room);
	if (name_len == room || name_len >= FAN_NAME_MAX)
		return -EBADMSG;         /* no NUL within the record */
	out->present = 1;
	out->fsid = (uint64_t)fsid0 | (uint64_t)fsid1 << 32;
	out->handle_type = handle_type;
	out->handle_bytes = handle_bytes;
	memcpy(out->handle, rec + INFO_HANDLE, handle_bytes);
	memcpy(out->name, name, name_len + 1);
	return 0;
}

long fan_change_parse(const void *buf, size_t len, struct fan_change_event *out)
{
	const unsigned char *p = buf;
	struct fanotify_event_metadata md;
	size_t at;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(md))
		return -EBADMSG;
	memcpy(&md, p, sizeof(md));
	if (md.event_len < sizeof(md) || md.event_len > len ||
	    md.metadata_len < sizeof(md) || md.metadata_len > md.event_len)
		return -EBADMSG;
	out->mask = md.mask;
	out->pid = md.pid;
	for (at = md.metadata_len; at < md.event_len;) {
		struct fanotify_event_info_header hdr;
		struct fan_dir_name *slot = NULL;

		if (md.event_len - at < sizeof(hdr))
			return -EBADMSG;
		memcpy(&hdr, p + at, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || hdr.len > md.event_len - at)
			return -EBADMSG;
		if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME)
			slot = &out->where;
		else if (hdr.info_type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME)
			slot = &out->from;
		else if (hdr.info_type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME)
			slot = &out->to;
		if (slot != NULL && (slot->present ||
				     parse_dir_name(p + at, hdr.len, slot) < 0))
			return -EBADMSG;
		at += hdr.len;
	}
	return (long)md.event_len;
}
