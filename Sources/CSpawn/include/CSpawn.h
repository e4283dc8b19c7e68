// Starting a task's process from the supervisor without copying the supervisor (TrellisShim's `Launch`).
#ifndef TRELLIS_CSPAWN_H
#define TRELLIS_CSPAWN_H

#include <sys/types.h>

/// What a replica's process does between its start and its exec, in this order: its own process group, the listed
/// signals back to their default action and none blocked, stdin from /dev/null and `output` / `errors` as stdout and
/// stderr, `usage` passed on as `usage_target`, the control groups joined, no core dumps and the limits set, the group
/// and user switched, `directory` entered, exec. A step that fails writes `step: reason` on `report` (which must be
/// close-on-exec, so a successful exec leaves it empty) and exits 127.
struct cspawn_plan {
    const char *path;
    char *const *argv;
    char *const *envp;
    int output;
    int errors;
    int report;
    /// -1: none.
    int usage;
    int usage_target;
    /// The `cgroup.procs` files to write the process into.
    const char *const *cgroup_procs;
    int cgroup_count;
    const int *default_signals;
    int default_signal_count;
    /// 0: unchanged.
    long file_limit;
    /// 0: unchanged.
    long user_process_limit;
    /// -1: unchanged.
    int gid;
    /// -1: unchanged.
    int uid;
    const char *directory;
};

/// Starts `plan`'s process sharing the caller's memory until it execs or exits, as vfork does, on a stack of its own,
/// with every signal blocked until it has reset them; the caller waits until then. A fork would copy the caller's page
/// tables and make each page it writes afterwards a copy-on-write fault: a fifth of a short task's supervisor.
/// The child's pid, or -1 with errno set.
pid_t cspawn_start(const struct cspawn_plan *plan);

#endif
