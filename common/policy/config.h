/*
 * config.h - phitrail.conf: the one INI file read by the shim, the collector
 * and the CLI (parsed with inih in config.c, config_reader.c and
 * config_keys.c; paths matched in config_match.c).
 *
 * The whole configuration lives in one fixed-size struct with no pointers to
 * the heap, so the shim can keep it in static storage and never allocate
 * after loading. Every error message has the form "FILE:LINE: what was
 * expected" and is kept in config.error; loading stops at nothing: the first
 * error is kept, the return value says there was one.
 */
#ifndef PHITRAIL_CONFIG_H
#define PHITRAIL_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include "netaddr.h"
#include "pathglob.h"

#define CONFIG_DEFAULT_PATH "/etc/phitrail/phitrail.conf"
#define CONFIG_ENV "PHITRAIL_CONFIG"

#define CONFIG_MAX_RULES 128
#define CONFIG_MAX_PATTERNS 256          /* file globs over all rules */
#define CONFIG_MAX_ADDRESSES 128         /* connect/accept/unix over all rules */
#define CONFIG_ADDRESS_MAX 256           /* one address as written */
#define CONFIG_NAME_MAX 64               /* rule names, workspace id */
#define CONFIG_SOCKET_PATH_MAX 108       /* sizeof(sun_path) */
#define CONFIG_ERROR_MAX 512

enum config_on_down {
	CONFIG_ON_DOWN_SPOOL = 0,        /* keep records in the fallback spool */
	CONFIG_ON_DOWN_DENY,             /* fail the PHI call with EACCES */
};

enum config_flush {
	CONFIG_FLUSH_BATCH = 0,          /* group commit, bounded delay */
	CONFIG_FLUSH_EVERY_RECORD,       /* fsync before a record counts */
};

enum config_address_kind {
	CONFIG_ADDRESS_CONNECT = 1,      /* connect = HOST:PORT */
	CONFIG_ADDRESS_ACCEPT,           /* accept = [ADDR]:PORT */
	CONFIG_ADDRESS_UNIX,             /* unix = PATH */
};

struct config_address {
	enum config_address_kind kind;
	unsigned rule;                   /* index into config.rules */
	char text[CONFIG_ADDRESS_MAX];    /* as written */
	struct netaddr compiled;         /* netaddr.h: what is matched */
};

struct config_rule {
	char name[CONFIG_NAME_MAX];
	char protocol[16];               /* "", "hl7", "fhir" or "dicom" */
	unsigned line;                   /* where the section starts */
};

struct config_pattern {
	unsigned rule;                   /* index into config.rules */
	struct pathglob glob;
};

/*
 * A quick, conservative first test of a path against every file pattern,
 * built when the configuration is loaded: the distinct leading literal parts
 * of the patterns (each a prefix of a pattern's literal prefix) and a bitmap
 * of their second byte. "No" is certain; "maybe" leaves it to matching.
 */
#define CONFIG_FILTER_PREFIXES 32
#define CONFIG_FILTER_PREFIX_MAX 64

struct config_path_filter {
	unsigned char built;             /* 0: not built, every path "maybe" */
	unsigned char count;             /* prefixes in use */
	unsigned char second_byte[32];   /* bitmap: byte 1 of each prefix */
	unsigned short length[CONFIG_FILTER_PREFIXES];
	char prefix[CONFIG_FILTER_PREFIXES][CONFIG_FILTER_PREFIX_MAX];
};

/*
 * [syslog]: the ATNA sink (collector/forward_syslog.c) sends every stored
 * record as a DICOM audit message over RFC 5425 TLS syslog. A section
 * that is absent leaves enabled 0. Text fits one line of the file.
 */
#define CONFIG_SYSLOG_TEXT_MAX 200

struct config_syslog {
	int enabled;                     /* the section is present */
	unsigned line;                   /* where it starts */
	char server[CONFIG_ADDRESS_MAX]; /* "host:port", "[v6]:port" */
	char tls_ca[CONFIG_SYSLOG_TEXT_MAX];   /* CA file the receiver is checked with */
	char tls_cert[CONFIG_SYSLOG_TEXT_MAX]; /* our client certificate, or "" */
	char tls_key[CONFIG_SYSLOG_TEXT_MAX];
	char tls_hostname[CONFIG_NAME_MAX * 2]; /* name checked; "" = server's host */
	char app_name[49];               /* RFC 5424 APP-NAME, default phitraild */
	unsigned facility;               /* 0..23, default 10 (authpriv) */
	unsigned stall_s;                /* a send blocked this long: reconnect */
	unsigned max_pending;            /* messages queued for the sender */
};

/*
 * [forward] (ship this host's records to NATS JetStream) and [aggregate]
 * (consume them into a central store): the same connection keys. A
 * section that is absent leaves enabled 0. Text fits one line of the file.
 */
#define CONFIG_NATS_TEXT_MAX 200

enum config_nats_tls {
	CONFIG_NATS_TLS_NO = 0,
	CONFIG_NATS_TLS_YES,
};

struct config_nats {
	int enabled;                     /* the section is present */
	unsigned line;                   /* where it starts */
	char servers[CONFIG_NATS_TEXT_MAX];   /* "nats://h:p,nats://h:p" */
	char stream[CONFIG_NAME_MAX];    /* JetStream stream, default PHITRAIL */
	char subject_prefix[CONFIG_NAME_MAX]; /* default "phitrail" */
	char host[CONFIG_NAME_MAX];      /* this host's name; "" = hostname */
	char durable[CONFIG_NAME_MAX];   /* [aggregate]: consumer name */
	char user[CONFIG_NAME_MAX];
	char password[CONFIG_NAME_MAX * 2];
	char credentials[CONFIG_NATS_TEXT_MAX]; /* .creds file (JWT + nkey seed) */
	char tls_ca[CONFIG_NATS_TEXT_MAX];
	char tls_cert[CONFIG_NATS_TEXT_MAX];
	char tls_key[CONFIG_NATS_TEXT_MAX];
	char tls_hostname[CONFIG_NAME_MAX * 2];
	enum config_nats_tls tls;        /* require TLS */
	unsigned stall_s;                /* report a stall after, seconds */
	unsigned replicas;               /* of the stream when created */
	unsigned max_pending;            /* records in flight */
};

struct config {
	char path[PATH_MAX];             /* the file read, for messages */
	char workspace_id[CONFIG_NAME_MAX];
	char socket_path[CONFIG_SOCKET_PATH_MAX];
	char query_socket_path[CONFIG_SOCKET_PATH_MAX];
	char database[PATH_MAX];
	char spool[PATH_MAX];
	char key_file[PATH_MAX];         /* Ed25519 signing key */
	char auditors[CONFIG_NAME_MAX];  /* group allowed to query; "" = root only */
	enum config_on_down on_collector_down;
	enum config_flush flush;
	unsigned batch_delay_ms;         /* most a record waits for group commit */
	unsigned checkpoint_interval_s;  /* signed checkpoint period */
	unsigned retention_days;
	int follow_exec;                 /* keep the shim across exec with a scrubbed env */
	struct config_syslog syslog;     /* [syslog] */
	int kernel_safety_net;           /* collector: fanotify over the PHI trees */
	int follow_aliases;              /* shim: PHI by the file opened, not the name */
	struct config_nats forward;      /* [forward] */
	struct config_nats aggregate;    /* [aggregate] */

	struct config_rule rules[CONFIG_MAX_RULES];
	size_t rule_count;
	struct config_pattern patterns[CONFIG_MAX_PATTERNS];
	size_t pattern_count;
	struct config_address addresses[CONFIG_MAX_ADDRESSES];
	size_t address_count;

	char error[CONFIG_ERROR_MAX];    /* first error, "FILE:LINE: ..." */
	unsigned error_count;

	struct config_path_filter path_filter;  /* built by config_load* */
};

/* Fills cfg with the defaults of DESIGN.md ("/run/phitrail/ingest.sock" ...). */
void config_defaults(struct config *cfg);

/* The file to read: explicit if not NULL, else $PHITRAIL_CONFIG, else the default. */
const char *config_choose_path(const char *explicit_path);

/*
 * Reads and parses the file at path into cfg (defaults first). Returns 0, or
 * a negative errno: -ENOENT and friends when the file cannot be read,
 * -EINVAL when it has errors (cfg->error names the first, cfg->error_count
 * says how many).
 */
int config_load(struct config *cfg, const char *path);

/* The same from a string in memory; name is used in messages. */
int config_load_string(struct config *cfg, const char *name,
		       const char *text, size_t len);

/*
 * The rule that matches an absolute, normalised path, or -1. On a match the
 * {patient} capture (if the glob has one) is copied into patient
 * (patient_size bytes, "" when none).
 */
int config_match_path(const struct config *cfg, const char *path,
		      char *patient, size_t patient_size);

/*
 * config_match_path for a caller that already has the length of path
 * (absolute, normalised, len == strlen(path)) and has put it through a
 * quick test: matches without measuring or filtering it again.
 */
int config_match_normal(const struct config *cfg, const char *path,
			size_t len, char *patient, size_t patient_size);

/*
 * Quick answers for the shim's hot path, before any copy or normalisation:
 * 0 when no file pattern can match, 1 when one might (config_match_path then
 * decides). Never a wrong 0. No allocation, no system call.
 *
 * config_could_match_path: path is absolute and normalised, len its length
 * (see pathglob_is_normal: a path that already is normal can be tested as
 * it is). config_match_path starts with this test itself.
 *
 * config_could_match_under: dir is an absolute, normalised directory (the
 * working directory); 0 means neither dir nor any path below it can match,
 * so a relative path without a ".." segment, joined to dir, is not PHI.
 */
int config_could_match_path(const struct config *cfg, const char *path,
			    size_t len);
int config_could_match_under(const struct config *cfg, const char *dir,
			     size_t len);

/*
 * The same quick answer for an absolute path as a program wrote it, not
 * necessarily normal (NUL-terminated; "//", "." and ".." segments allowed):
 * 0 only when its normal form cannot match, found without normalising it.
 * A relative path gets 1.
 */
int config_could_match_raw(const struct config *cfg, const char *path);

/*
 * The rule whose address matches sa (netaddr.c), or -1. kind says which
 * side: CONFIG_ADDRESS_CONNECT for the peer of a connect, ..._ACCEPT for
 * the local address of an accepted connection; an AF_UNIX address is
 * matched against the unix rules whatever kind says. No allocation, no
 * system call.
 */
int config_match_address(const struct config *cfg,
			 enum config_address_kind kind,
			 const struct sockaddr *sa, socklen_t salen);

/* Bit (1 << kind) set for each address kind the rules use. */
unsigned config_address_kinds(const struct config *cfg);

#endif
