/*
 * shim.c - owns the shim's process state: the policy loaded once into
 * static storage, lazy initialisation (constructor or first wrapper,
 * whichever comes first), the fork child handler, and the thread-local
 * state of a wrapper: how deep audited wrappers are nested on this thread
 * (a signal handler that opens a chart while the interrupted code was
 * inside a wrapper is audited too, nested: the shim's own code calls only
 * real functions, so nesting can only come from a handler), and the flag
 * that turns every wrapper into a plain pass-through while the shim's own
 * start-up runs (the config loader's stdio included).
 *
 * A missing or broken configuration disables auditing for the process;
 * it never stops the program, and unaudited.c tells the collector (or the
 * system log) why. This file must never print, exit, raise a signal or
 * leave errno changed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <bsd/string.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "netstate.h"
#include "real.h"
#include "shim.h"

struct config shim_config;

int shim_state;                        /* atomic; enum shim_state */
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;
static __thread int shim_depth;        /* audited wrappers on this thread */
__thread int shim_internal;            /* the shim's own start-up is running */

int shim_busy(void)
{
	return shim_internal;
}

int shim_nested(void)
{
	return shim_depth > 1;
}

void shim_fork_child(void)
{
	int saved_errno = errno;

	shim_depth = 0;
	shim_internal = 0;
	handoff_atfork_child();
	emit_atfork_child();
	identity_atfork_child();
	policy_atfork_child();
	netstate_atfork_child();
	errno = saved_errno;
}

/* The configuration file to read; PHITRAIL_CONFIG is ignored for setuid. */
static const char *shim_config_path(void)
{
	const char *env;

	if (getauxval(AT_SECURE) != 0)
		return CONFIG_DEFAULT_PATH;
	env = getenv(CONFIG_ENV);
	return env != NULL && env[0] != '\0' ? env : CONFIG_DEFAULT_PATH;
}

static void shim_init(void)
{
	char reason[CONFIG_ERROR_MAX + 64];
	int saved_errno = errno, rc;

	shim_internal = 1;
	real_resolve_all();
	exec_init();
	rc = config_load(&shim_config, shim_config_path());
	if (rc < 0 || shim_config.error_count > 0) {
		snprintf(reason, sizeof(reason), "%s%s", shim_config.error,
			 shim_config.error_count > 1 ? " (and more errors: run "
			 "phitrail policy check)" : "");
	} else if (shim_config.pattern_count == 0 &&
		   shim_config.address_count == 0) {
		strlcpy(reason, shim_config.path, sizeof(reason) - 48);
		strlcat(reason, " has no rule (files, connect, accept or unix)",
			sizeof(reason));
	} else {
		/* identity.c reads /proc at the first record (identity_get): a
		 * process that never touches PHI never pays for it. */
		alias_load();
		if (pthread_atfork(NULL, NULL, shim_fork_child) == 0) {
			fdstate_adopt_inherited();
			__atomic_store_n(&shim_state, SHIM_STATE_AUDITING,
					 __ATOMIC_RELEASE);
			goto out;
		}
		strlcpy(reason, "cannot register the fork handler", sizeof(reason));
	}
	unaudited_say(&shim_config, reason);
out:
	shim_internal = 0;
	errno = saved_errno;
}

int shim_auditing(void)
{
	return __atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) ==
		SHIM_STATE_AUDITING;
}

int shim_enter(void)
{
	if (shim_internal || shim_vfork_child)
		return 0;
	if (__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) != SHIM_STATE_AUDITING) {
		int saved_errno = errno;

		pthread_once(&shim_once, shim_init);
		errno = saved_errno;
		if (__atomic_load_n(&shim_state, __ATOMIC_ACQUIRE) !=
		    SHIM_STATE_AUDITING)
			return 0;
	}
	shim_depth++;
	return 1;
}

void shim_leave(void)
{
	shim_depth--;
}

int shim_may_proceed(void)
{
	if (shim_config.on_collector_down != CONFIG_ON_DOWN_DENY)
		return 0;
	if (handoff_spool_fd() >= 0)
		return 0;
	emit_note_denied();        /* told to the collector when it is back */
	return -EACCES;
}

__attribute__((constructor)) static void shim_constructor(void)
{
	int saved_errno = errno;

	if (!shim_internal)
		pthread_once(&shim_once, shim_init);
	errno = saved_errno;
}

/*
 * At a normal exit (after the program's atexit handlers): the end of open
 * PHI sockets, then the claim's ack. Not in a vfork child (its memory is
 * its parent's); never after exec (the new image has its own) nor after
 * _exit or a fatal signal (no destructor runs).
 */
__attribute__((destructor)) static void shim_destructor(void)
{
	int saved_errno = errno;

	netstate_at_exit();
	if (!shim_vfork_child)
		handoff_at_exit();
	errno = saved_errno;
}
