#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

// The child only calls the C library and the kernel: it runs on the caller's memory, so it allocates nothing. Its user
// and group are switched with the raw system calls, which change this process alone (the C library's wrappers would
// broadcast the change to every thread of the caller's).

enum { stack_bytes = 64 * 1024 };

static void say(int descriptor, const char *text) {
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t written = write(descriptor, text, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        text += written;
        left -= (size_t)written;
    }
}

/// `step detail: reason` on the report, then exit 127.
static void fail(const struct cspawn_plan *plan, const char *step, const char *detail) {
    int cause = errno;
    say(plan->report, step);
    if (detail != NULL) say(plan->report, detail);
    say(plan->report, ": ");
    say(plan->report, strerror(cause));
    _exit(127);
}

/// `value` in decimal, in `text` (room for any long).
static const char *decimal(long value, char text[24]) {
    char *end = text + 23;
    *end = '\0';
    unsigned long left = value < 0 ? -(unsigned long)value : (unsigned long)value;
    do {
        *--end = (char)('0' + left % 10);
        left /= 10;
    } while (left > 0);
    if (value < 0) *--end = '-';
    return end;
}

static void limit(const struct cspawn_plan *plan, int resource, long value) {
    struct rlimit bound = {.rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value};
    char number[24];
    if (setrlimit(resource, &bound) != 0) fail(plan, "cannot set resource limit ", decimal(resource, number));
}

static int child(void *context) {
    const struct cspawn_plan *plan = context;
    char number[24];
    setpgid(0, 0);
    for (int index = 0; index < plan->default_signal_count; index++) signal(plan->default_signals[index], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // Close-on-exec: the copy dup2 makes as stdin stays, this one is not left open in the task.
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(plan->output, 1) < 0 || dup2(plan->errors, 2) < 0) {
        fail(plan, "cannot set up its output", NULL);
    }
    if (plan->usage >= 0) {
        // dup2 onto itself would keep close-on-exec.
        int kept = plan->usage == plan->usage_target ? fcntl(plan->usage, F_SETFD, 0) : dup2(plan->usage, plan->usage_target);
        if (kept < 0) fail(plan, "cannot pass the measuring descriptor", NULL);
    }
    for (int index = 0; index < plan->cgroup_count; index++) {
        int descriptor = open(plan->cgroup_procs[index], O_WRONLY | O_CLOEXEC);
        if (descriptor < 0 || write(descriptor, "0", 1) != 1) fail(plan, "cannot join its control group ", plan->cgroup_procs[index]);
        close(descriptor);
    }
    limit(plan, RLIMIT_CORE, 0);
    if (plan->file_limit > 0) limit(plan, RLIMIT_NOFILE, plan->file_limit);
    if (plan->user_process_limit > 0) limit(plan, RLIMIT_NPROC, plan->user_process_limit);
    if (plan->gid >= 0 && (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setgid, plan->gid) != 0)) {
        fail(plan, "cannot switch to group ", decimal(plan->gid, number));
    }
    if (plan->uid >= 0 && syscall(SYS_setuid, plan->uid) != 0) fail(plan, "cannot switch to user ", decimal(plan->uid, number));
    if (chdir(plan->directory) != 0) fail(plan, "cannot enter ", plan->directory);
    execve(plan->path, plan->argv, plan->envp);
    fail(plan, "exec ", plan->path);
    return 127;
}

pid_t cspawn_start(const struct cspawn_plan *plan) {
    char *stack = mmap(NULL, stack_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = clone(child, stack + stack_bytes, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)plan);
    int cause = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    munmap(stack, stack_bytes);
    errno = cause;
    return pid;
}
