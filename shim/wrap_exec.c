/*
 * wrap_exec.c - owns the process shapes libc creates: _Fork (the child gets
 * its own identity and spool, as after fork), vfork (the child borrows the
 * parent's memory until it execs, so it must change none of the shim's
 * state), and the exec family and posix_spawn/posix_spawnp, which keep the
 * shim in the new program: with follow_exec = yes (the default), an
 * environment that lacks LD_PRELOAD naming this library, or
 * PHITRAIL_CONFIG when a non-default configuration is in use, gets them
 * added back in a copy built on the stack (never malloc: a vfork child
 * runs here). In secure-execution mode nothing is added.
 *
 * execv, execvp, execl and execlp use the program's environ, which the
 * program may have scrubbed itself, so they are routed to the envp forms.
 * system() and popen() spawn through libc's internals with environ: their
 * children stay audited as long as environ still preloads the shim.
 */
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <bsd/string.h>

#include "real.h"
#include "shim.h"

extern char **environ;

#define EXEC_MAX_ENV 8192          /* entries copied on the stack, at most */
#define EXEC_MAX_ARGS 4096         /* execl arguments, at most */

static char exec_library[PATH_MAX];        /* this library, from dladdr */

void exec_init(void)
{
	Dl_info info;

	if (dladdr((void *)exec_init, &info) != 0 && info.dli_fname != NULL &&
	    info.dli_fname[0] == '/')
		strlcpy(exec_library, info.dli_fname, sizeof(exec_library));
}

/* The value of name in env, or NULL. */
static const char *exec_env_get(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* 1 when the LD_PRELOAD value lists this library. */
static int exec_preload_has_us(const char *value)
{
	size_t len = strlen(exec_library);

	for (const char *p = value; p != NULL && *p != '\0';) {
		p += strspn(p, " :");
		if (strncmp(p, exec_library, len) == 0 &&
		    (p[len] == '\0' || p[len] == ' ' || p[len] == ':'))
			return 1;
		p += strcspn(p, " :");
	}
	return 0;
}

/* What the new program needs added; 0 when its environment is fine. */
struct exec_fix {
	char preload[PATH_MAX * 2 + 16];
	char config[PATH_MAX + 32];
	int need_preload, need_config;
};

static int exec_needs_fix(char *const *envp, struct exec_fix *fix)
{
	const char *preload, *config;

	fix->need_preload = fix->need_config = 0;
	if (!shim_config.follow_exec || exec_library[0] == '\0' ||
	    !shim_auditing() || getauxval(AT_SECURE) != 0)
		return 0;
	preload = exec_env_get(envp, "LD_PRELOAD");
	if (!exec_preload_has_us(preload)) {
		fix->need_preload = 1;
		if (preload != NULL && preload[0] != '\0')
			snprintf(fix->preload, sizeof(fix->preload),
				 "LD_PRELOAD=%s %s", exec_library, preload);
		else
			snprintf(fix->preload, sizeof(fix->preload),
				 "LD_PRELOAD=%s", exec_library);
	}
	config = exec_env_get(envp, CONFIG_ENV);
	if (strcmp(shim_config.path, CONFIG_DEFAULT_PATH) != 0 &&
	    (config == NULL || strcmp(config, shim_config.path) != 0)) {
		fix->need_config = 1;
		snprintf(fix->config, sizeof(fix->config), "%s=%s", CONFIG_ENV,
			 shim_config.path);
	}
	return fix->need_preload || fix->need_config;
}

/*
 * Runs call with envp, or with a fixed copy of it built in a stack array
 * named env_ (entries replaced in place, missing ones appended).
 */
#define EXEC_WITH_ENV(envp, call) do { \
	struct exec_fix fix_; \
	size_t n_ = 0; \
	char *const *in_ = (envp); \
	if (!exec_needs_fix(in_, &fix_)) { \
		char *const *env_ = in_; \
		return call; \
	} \
	while (in_ != NULL && in_[n_] != NULL) \
		n_++; \
	if (n_ > EXEC_MAX_ENV) { \
		char *const *env_ = in_; \
		return call; \
	} \
	{ \
		char *env_[n_ + 3]; \
		size_t k_ = 0; \
		for (size_t i_ = 0; i_ < n_; i_++) { \
			if ((fix_.need_preload && \
			     strncmp(in_[i_], "LD_PRELOAD=", 11) == 0) || \
			    (fix_.need_config && \
			     strncmp(in_[i_], CONFIG_ENV "=", \
				     sizeof(CONFIG_ENV)) == 0)) \
				continue; \
			env_[k_++] = in_[i_]; \
		} \
		if (fix_.need_preload) \
			env_[k_++] = fix_.preload; \
		if (fix_.need_config) \
			env_[k_++] = fix_.config; \
		env_[k_] = NULL; \
		return call; \
	} \
} while (0)

SHIM_EXPORT int execve(const char *path, char *const argv[],
		       char *const envp[])
{
	EXEC_WITH_ENV(envp, REAL(execve)(path, argv, env_));
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	EXEC_WITH_ENV(envp, REAL(execvpe)(file, argv, env_));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_WITH_ENV(envp, REAL(fexecve)(fd, argv, env_));
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	EXEC_WITH_ENV(envp, REAL(execveat)(dirfd, path, argv, env_, flags));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* execl and friends: the arguments gathered into an array on the stack. */
#define EXEC_GATHER(first, argv, with_envp, envp) \
	char *argv[EXEC_MAX_ARGS + 1]; \
	char **envp = environ; \
	size_t argc_ = 0; \
	va_list ap_; \
	va_start(ap_, first); \
	argv[argc_++] = (char *)(first); \
	while (argv[argc_ - 1] != NULL && argc_ <= EXEC_MAX_ARGS) \
		argv[argc_++] = va_arg(ap_, char *); \
	if (argv[argc_ - 1] != NULL) { \
		va_end(ap_); \
		errno = E2BIG; \
		return -1; \
	} \
	if (with_envp) \
		envp = va_arg(ap_, char **); \
	va_end(ap_)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXEC_GATHER(arg, argv, 0, envp);
	return execve(path, argv, envp);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	EXEC_GATHER(arg, argv, 1, envp);
	return execve(path, argv, envp);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXEC_GATHER(arg, argv, 0, envp);
	return execvpe(file, argv, envp);
}

/* posix_spawn runs its child on a borrowed stack: the environment is fixed
 * here, in the parent, before the call. */
SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *actions,
			    const posix_spawnattr_t *attr,
			    char *const argv[], char *const envp[])
{
	EXEC_WITH_ENV(envp, REAL(posix_spawn)(pid, path, actions, attr, argv,
					      env_));
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *actions,
			     const posix_spawnattr_t *attr,
			     char *const argv[], char *const envp[])
{
	EXEC_WITH_ENV(envp, REAL(posix_spawnp)(pid, file, actions, attr, argv,
					       env_));
}

/* ---- _Fork and vfork -------------------------------------------------- */

SHIM_EXPORT pid_t _Fork(void)
{
	pid_t pid = REAL(_Fork)();

	if (pid == 0)
		shim_fork_child();
	return pid;
}

#if defined(__x86_64__)
/*
 * vfork cannot be wrapped by a C function: the child returns through the
 * wrapper's frame and would wreck it for the parent. Like glibc's own, this
 * one keeps the return address in a register across the system call. The
 * child (result 0) sets shim_vfork_child, so every wrapper it calls passes
 * straight through and changes no shared state; the parent clears it when
 * it resumes (the flag is the parent thread's own memory, borrowed).
 */
__thread int shim_vfork_child __attribute__((visibility("hidden")));

__attribute__((used, visibility("hidden"))) int shim_vfork_failed(int err)
{
	errno = err;
	return -1;
}

__asm__(
	".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"	endbr64\n"
	"	popq %rdi\n"
	"	movl $58, %eax\n"                      /* SYS_vfork */
	"	syscall\n"
	"	pushq %rdi\n"
	"	cmpl $-4095, %eax\n"
	"	jae 1f\n"
	"	movq shim_vfork_child@gottpoff(%rip), %rcx\n"
	"	testl %eax, %eax\n"
	"	jnz 2f\n"
	"	movl $1, %fs:(%rcx)\n"
	"	ret\n"
	"2:	movl $0, %fs:(%rcx)\n"
	"	ret\n"
	"1:	negl %eax\n"
	"	movl %eax, %edi\n"
	"	jmp shim_vfork_failed\n"
	".size vfork, .-vfork\n");
#else
__thread int shim_vfork_child __attribute__((visibility("hidden")));
#endif
