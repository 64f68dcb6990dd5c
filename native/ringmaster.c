// The few syscalls Node lacks, for ringmaster (contract: src/pid1/native-types.ts):
//   spawn         fork/exec with process group or session, terminal foreground, credentials with
//                 the user's supplementary groups, umask and cwd; reports the failing step + errno;
//   reap          waitpid(pid, WNOHANG) on one pid that libuv does not own;
//   peek          waitid(P_ALL, WNOWAIT): which child has ended, without reaping it;
//   setSubreaper  prctl(PR_SET_CHILD_SUBREAPER);
//   notifyOpen    a unix datagram socket for sd_notify (NOTIFY_SOCKET) whose datagrams arrive as
//                 calls on the event loop (libuv poll on the fd), each with its sender's pid;
//   listen        a listening TCP or unix socket for a program's `socket:` (made synchronously, so
//                 it exists before the first spawn); spawn passes it on as fd 3 or fd 0;
//   trimMemory    give back what start-up left resident: malloc_trim, and MADV_DONTNEED on the
//                 executable's read-only file mappings (issue #17);
//   reduceHeap    V8's LowMemoryNotification (native/v8-heap.cc): a GC that also shrinks the heap;
//   countLines, prefixLines  the output's hot path: a chunk's lines, each behind a prefix.
// Never waitpid(-1): that would steal exit statuses from libuv's own children.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <stddef.h>
#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <netdb.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum step { STEP_NONE, STEP_FORK, STEP_PIPE, STEP_SETPGID, STEP_SETSID, STEP_STDIO, STEP_CHDIR,
            STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_EXEC, STEP_LISTENFD,
            STEP_RESOLVE, STEP_SOCKET, STEP_BIND, STEP_LISTEN, STEP_CHMOD, STEP_CHOWN };
static const char *step_names[] = { "", "fork", "pipe", "setpgid", "setsid", "dup2", "chdir",
                                    "setgroups", "setgid", "setuid", "exec", "listen fd",
                                    "resolve", "socket", "bind", "listen", "chmod", "chown" };
enum mode { MODE_INHERIT, MODE_PIPE, MODE_NULL, MODE_STDOUT };

static const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES"; case ENOEXEC: return "ENOEXEC";
    case EPERM: return "EPERM"; case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP"; case ENAMETOOLONG: return "ENAMETOOLONG"; case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM"; case EINVAL: return "EINVAL"; case EAGAIN: return "EAGAIN";
    case EMFILE: return "EMFILE"; case ENFILE: return "ENFILE"; case ETXTBSY: return "ETXTBSY";
    case EADDRINUSE: return "EADDRINUSE"; case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENOTSOCK: return "ENOTSOCK"; case EBADF: return "EBADF";
    default: return NULL;
  }
}

// An Error with errno, code ('ENOENT') and syscall (the step that failed).
static napi_value throw_syscall(napi_env env, const char *syscall, int err) {
  char code[16], msg[128];
  const char *name = errno_name(err);
  if (name) snprintf(code, sizeof code, "%s", name); else snprintf(code, sizeof code, "E%d", err);
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value error, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &v);
  napi_create_error(env, NULL, v, &error);
  napi_create_int32(env, err, &v); napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, error, "code", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_errno(napi_env env, enum step step, int err) {
  return throw_syscall(env, step_names[step], err);
}

// --- reading the options object -----------------------------------------------------------------

// The property, or NULL when it is missing, undefined or null.
static napi_value prop(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return NULL;
  return t == napi_undefined || t == napi_null ? NULL : v;
}

// A malloc'd copy of a JS string, or NULL if v is not a string.
static char *string_of(napi_env env, napi_value v) {
  size_t len;
  if (!v || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// A NULL-terminated copy of an array of strings; NULL if it is not one.
static char **strings_of(napi_env env, napi_value arr) {
  uint32_t n = 0;
  if (arr) napi_get_array_length(env, arr, &n);
  char **out = calloc(n + 1, sizeof(char *));
  for (uint32_t i = 0; out && i < n; i++) {
    napi_value el;
    napi_get_element(env, arr, i, &el);
    if (!(out[i] = string_of(env, el))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

static void free_strings(char **a) {
  for (char **p = a; p && *p; p++) free(*p);
  free(a);
}

// A uid/gid/umask: a non-negative integer below 2^32, or -1 when absent.
static int64_t id_of(napi_env env, napi_value v) {
  double d;
  if (!v || napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 4294967295.0) return -1;
  return (int64_t)d;
}

static enum mode mode_of(napi_env env, napi_value opts, const char *key) {
  char *s = string_of(env, prop(env, opts, key));
  enum mode m = !s ? MODE_INHERIT : !strcmp(s, "pipe") ? MODE_PIPE : !strcmp(s, "null") ? MODE_NULL
              : !strcmp(s, "stdout") ? MODE_STDOUT : MODE_INHERIT;
  free(s);
  return m;
}

// --- the child, between clone and exec: async-signal-safe calls and raw syscalls only ----------

struct child_setup {
  char *file, *cwd;
  char **argv, **envp;
  int pgroup;        // 0 inherit, 1 setpgid(0,0), 2 setsid()
  int foreground;    // tcsetpgrp on fd 0
  int std_fd[3];     // what to install as 0/1/2, or -1 to keep ringmaster's
  int64_t uid, gid;  // -1: keep
  int64_t umask;     // -1: keep
  gid_t *groups;
  size_t ngroups;
  int report_fd;     // O_CLOEXEC: EOF in the parent means execve succeeded
  pid_t parent;      // ringmaster's pid; 0 when ringmaster is PID 1 (no parent-death signal)
  int ready_src;     // write end of the `ready: fd:N` pipe (O_CLOEXEC), or -1
  int ready_at;      // N: the fd it becomes in the child
  int listen_fd;     // a program's shared listening socket, or -1
  int listen_at;     // the fd it becomes in the child: 3 (systemd's LISTEN_FDS) or 0 (fcgi)
  char *listen_pid;  // "LISTEN_PID=" + room for digits, in envp; the child writes its own pid
};

// Async-signal-safe: "LISTEN_PID=" followed by the decimal pid.
static void write_pid_env(char *buf, pid_t pid) {
  char digits[16];
  int n = 0;
  do digits[n++] = (char)('0' + pid % 10); while ((pid /= 10) > 0 && n < 15);
  char *p = buf + strlen("LISTEN_PID=");
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
}

struct report { int step; int err; };

__attribute__((noreturn)) static void child_fail(const struct child_setup *c, enum step step) {
  struct report r = { step, errno };
  ssize_t ignored = write(c->report_fd, &r, sizeof r);
  (void)ignored;
  _exit(127);
}

static int child_main(void *arg) {
  const struct child_setup *c = arg;
  // Every signal is still blocked (the parent did that around clone). Node ignores SIGPIPE and
  // has handlers of its own: none of that may reach a program.
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  if (c->pgroup == 1 && setpgid(0, 0) < 0) child_fail(c, STEP_SETPGID);
  if (c->pgroup == 2 && setsid() < 0) child_fail(c, STEP_SETSID);
  if (c->foreground) {
    // tcsetpgrp from what is still a background group raises SIGTTOU (as tini does, ignore it);
    // no terminal on fd 0 (ENOTTY, ENXIO) just means there is nothing to hand over.
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(0, getpid());
    signal(SIGTTOU, SIG_DFL);
  }
  // Move the fds to install above 2 first, so a dup2 onto 0..2 cannot clobber another one.
  int moved[3];
  for (int i = 0; i < 3; i++) {
    moved[i] = c->std_fd[i] < 0 ? -1 : fcntl(c->std_fd[i], F_DUPFD_CLOEXEC, 3);
    if (c->std_fd[i] >= 0 && moved[i] < 0) child_fail(c, STEP_STDIO);
  }
  int listen_moved = c->listen_fd < 0 ? -1 : fcntl(c->listen_fd, F_DUPFD_CLOEXEC, 3);
  if (c->listen_fd >= 0 && listen_moved < 0) child_fail(c, STEP_LISTENFD);
  for (int i = 0; i < 3; i++) {
    if (moved[i] >= 0 && dup2(moved[i], i) < 0) child_fail(c, STEP_STDIO);
    fcntl(i, F_SETFD, 0);  // an inherited 0..2 may be close-on-exec in ringmaster
  }
  if (listen_moved >= 0) {
    if (dup2(listen_moved, c->listen_at) < 0) child_fail(c, STEP_LISTENFD);
    fcntl(c->listen_at, F_SETFD, 0);
  }
  // LISTEN_PID must be the program's own pid, known only here (no shell wrapper changes it).
  if (c->listen_pid) write_pid_env(c->listen_pid, (pid_t)syscall(SYS_getpid));
#ifdef SYS_close_range
  // No stray fd reaches a program (the socket on fd 3 excepted).
  syscall(SYS_close_range, c->listen_at == 3 ? 4U : 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
  // After close_range, which would mark it close-on-exec again. dup2 onto itself keeps the flag,
  // hence the explicit F_SETFD.
  if (c->ready_src >= 0) {
    if (c->ready_src != c->ready_at && dup2(c->ready_src, c->ready_at) < 0) child_fail(c, STEP_STDIO);
    fcntl(c->ready_at, F_SETFD, 0);
  }
  if (c->umask >= 0) umask((mode_t)c->umask);
  if (c->cwd && chdir(c->cwd) < 0) child_fail(c, STEP_CHDIR);
  if (c->uid >= 0 || c->gid >= 0) {
    // Raw syscalls: glibc's setuid() would signal every thread of its process to follow, and
    // this child shares ringmaster's memory (CLONE_VM) and so its thread list.
    gid_t gid = c->gid >= 0 ? (gid_t)c->gid : getgid();
    uid_t uid = c->uid >= 0 ? (uid_t)c->uid : getuid();
    if (syscall(SYS_setgroups, c->ngroups, c->groups) < 0) child_fail(c, STEP_SETGROUPS);
    if (syscall(SYS_setresgid, gid, gid, gid) < 0) child_fail(c, STEP_SETGID);
    if (syscall(SYS_setresuid, uid, uid, uid) < 0) child_fail(c, STEP_SETUID);
  }
  // Not PID 1: when ringmaster dies (SIGKILL, the OOM killer) its programs die with it instead
  // of running on unsupervised (issue #12, 11). Set after the credential switch, which clears
  // it; kept across execve (not for set-user-ID programs). Should ringmaster already be gone,
  // the child was reparented: it must not start at all. As PID 1 the kernel kills everything
  // anyway when ringmaster ends.
  if (c->parent > 0) {
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (syscall(SYS_getppid) != c->parent) _exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(c->file, c->argv, c->envp);
  child_fail(c, STEP_EXEC);
}

// Like posix_spawn: clone(CLONE_VM | CLONE_VFORK) on a small stack of its own. No copy of Node's
// page tables (fork of a 40 MB process costs ten times more), no shared stack frame with the
// parent (vfork's hazard); the parent sleeps until the child has exec'd or exited. Every signal
// is blocked around it, so no handler of Node's runs in the child before they are reset.
#define CHILD_STACK (64 * 1024)
static pid_t start_child(struct child_setup *c) {
  long page = sysconf(_SC_PAGESIZE);
  char *stack = mmap(NULL, CHILD_STACK + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  mprotect(stack, page, PROT_NONE);  // guard page: the stack grows down into it
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(child_main, stack + page + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munmap(stack, CHILD_STACK + page);
  errno = err;
  return pid;
}

// --- spawn ---------------------------------------------------------------------------------------

static void close_if(int fd) { if (fd >= 0) close(fd); }

// Pipes, the child, and the parent's side of the report pipe; c is filled in by js_spawn.
static napi_value run_spawn(napi_env env, napi_value opts, struct child_setup *c) {
  enum mode modes[3] = { mode_of(env, opts, "stdin"), mode_of(env, opts, "stdout"), mode_of(env, opts, "stderr") };
  int parent_fd[3] = { -1, -1, -1 }, child_fd[3] = { -1, -1, -1 }, report[2] = { -1, -1 }, devnull = -1;
  enum step fail_step = STEP_NONE;
  int fail_err = 0;
  for (int i = 0; i < 3 && !fail_step; i++) {
    int p[2];
    if (modes[i] == MODE_PIPE) {
      if (pipe2(p, O_CLOEXEC) < 0) { fail_step = STEP_PIPE; fail_err = errno; break; }
      parent_fd[i] = i == 0 ? p[1] : p[0];
      child_fd[i] = i == 0 ? p[0] : p[1];
    } else if (modes[i] == MODE_NULL) {
      if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) { fail_step = STEP_PIPE; fail_err = errno; }
      child_fd[i] = devnull;
    } else if (modes[i] == MODE_STDOUT && i == 2) {
      child_fd[2] = modes[1] == MODE_INHERIT ? 1 : child_fd[1];  // dup2(1, 2)
    }
  }
  int ready[2] = { -1, -1 };
  if (!fail_step && c->ready_at >= 0 && pipe2(ready, O_CLOEXEC) < 0) { fail_step = STEP_PIPE; fail_err = errno; }
  c->ready_src = ready[1];
  if (!fail_step && pipe2(report, O_CLOEXEC) < 0) { fail_step = STEP_PIPE; fail_err = errno; }

  pid_t pid = -1;
  if (!fail_step) {
    memcpy(c->std_fd, child_fd, sizeof child_fd);
    c->report_fd = report[1];
    if ((pid = start_child(c)) < 0) { fail_step = STEP_FORK; fail_err = errno; }
  }
  // The child has exec'd or exited by now (CLONE_VFORK): its ends can go.
  close_if(report[1]);
  close_if(ready[1]);
  for (int i = 0; i < 3; i++)
    if (child_fd[i] > 2 && child_fd[i] != devnull && (i < 2 || child_fd[2] != child_fd[1])) close(child_fd[i]);
  close_if(devnull);
  if (!fail_step) {
    struct report r;
    ssize_t got;
    do got = read(report[0], &r, sizeof r); while (got < 0 && errno == EINTR);
    if (got == sizeof r) {
      fail_step = r.step;
      fail_err = r.err;
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
  }
  close_if(report[0]);
  if (fail_step) {
    for (int i = 0; i < 3; i++) close_if(parent_fd[i]);
    close_if(ready[0]);
    return throw_errno(env, fail_step, fail_err);
  }
  for (int i = 0; i < 3; i++)
    if (parent_fd[i] >= 0) fcntl(parent_fd[i], F_SETFL, fcntl(parent_fd[i], F_GETFL) | O_NONBLOCK);
  if (ready[0] >= 0) fcntl(ready[0], F_SETFL, fcntl(ready[0], F_GETFL) | O_NONBLOCK);

  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_int32(env, pid, &v); napi_set_named_property(env, result, "pid", v);
  napi_create_int32(env, parent_fd[0], &v); napi_set_named_property(env, result, "stdinFd", v);
  napi_create_int32(env, parent_fd[1], &v); napi_set_named_property(env, result, "stdoutFd", v);
  napi_create_int32(env, parent_fd[2], &v); napi_set_named_property(env, result, "stderrFd", v);
  napi_create_int32(env, ready[0], &v); napi_set_named_property(env, result, "readyFd", v);
  return result;
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts = NULL, v;
  napi_get_cb_info(env, info, &argc, &opts, NULL, NULL);
  if (argc < 1) { napi_throw_type_error(env, NULL, "spawn: options are required"); return NULL; }

  struct child_setup c = { 0 };
  c.parent = getpid() == 1 ? 0 : getpid();
  c.ready_src = c.ready_at = -1;
  int32_t ready_at;
  if ((v = prop(env, opts, "readyFd")) && napi_get_value_int32(env, v, &ready_at) == napi_ok && ready_at >= 3) c.ready_at = ready_at;
  c.listen_fd = -1;
  c.listen_at = -1;
  int32_t n32;
  if ((v = prop(env, opts, "listenFd")) && napi_get_value_int32(env, v, &n32) == napi_ok && n32 >= 0) {
    c.listen_fd = n32;
    c.listen_at = (v = prop(env, opts, "listenAt")) && napi_get_value_int32(env, v, &n32) == napi_ok && n32 == 0 ? 0 : 3;
  }
  c.file = string_of(env, prop(env, opts, "file"));
  c.cwd = string_of(env, prop(env, opts, "cwd"));
  c.argv = strings_of(env, prop(env, opts, "argv"));
  c.envp = strings_of(env, prop(env, opts, "env"));
  if (c.envp && c.listen_at == 3) {
    // One more variable, filled in by the child: LISTEN_PID=<its pid>.
    size_t n = 0;
    while (c.envp[n]) n++;
    char **grown = realloc(c.envp, (n + 2) * sizeof(char *));
    c.listen_pid = grown ? calloc(1, 40) : NULL;
    if (grown) c.envp = grown;
    if (c.listen_pid) {
      strcpy(c.listen_pid, "LISTEN_PID=");
      c.envp[n] = c.listen_pid;
      c.envp[n + 1] = NULL;
    } else {
      free_strings(c.envp);
      c.envp = NULL;
    }
  }
  char *pg = string_of(env, prop(env, opts, "pgroup"));
  c.pgroup = !pg ? 0 : !strcmp(pg, "pgroup") ? 1 : !strcmp(pg, "session") ? 2 : 0;
  free(pg);
  bool b = false;
  if ((v = prop(env, opts, "foreground"))) napi_get_value_bool(env, v, &b);
  c.foreground = b;
  c.umask = id_of(env, prop(env, opts, "umask"));
  c.uid = id_of(env, prop(env, opts, "uid"));
  c.gid = id_of(env, prop(env, opts, "gid"));
  uint32_t ngroups = 0;
  napi_value groups = prop(env, opts, "groups");
  if (groups) napi_get_array_length(env, groups, &ngroups);
  c.groups = calloc(ngroups + 1, sizeof(gid_t));
  for (uint32_t i = 0; groups && c.groups && i < ngroups; i++) {
    napi_get_element(env, groups, i, &v);
    c.groups[c.ngroups++] = (gid_t)id_of(env, v);
  }
  // Without a list, a credential switch leaves only the new primary group.
  if (!groups && c.groups) c.groups[c.ngroups++] = c.gid >= 0 ? (gid_t)c.gid : getgid();

  napi_value result = NULL;
  if (!c.file || !c.argv || !c.envp || !c.groups)
    napi_throw_type_error(env, NULL, "spawn: file must be a string, argv and env arrays of strings");
  else
    result = run_spawn(env, opts, &c);
  free(c.file); free(c.cwd); free_strings(c.argv); free_strings(c.envp); free(c.groups);
  return result;
}

// --- reaping -------------------------------------------------------------------------------------

static napi_value js_reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = NULL, result, v;
  int32_t pid = 0;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap: pid must be a positive integer");
    return NULL;
  }
  int st;
  pid_t r;
  do r = waitpid(pid, &st, WNOHANG); while (r < 0 && errno == EINTR);
  if (r <= 0) {  // 0: still running; ECHILD: not our child (or already reaped)
    napi_get_null(env, &result);
    return result;
  }
  napi_create_object(env, &result);
  napi_create_int32(env, r, &v); napi_set_named_property(env, result, "pid", v);
  if (WIFEXITED(st)) napi_create_int32(env, WEXITSTATUS(st), &v); else napi_get_null(env, &v);
  napi_set_named_property(env, result, "code", v);
  if (WIFSIGNALED(st)) napi_create_int32(env, WTERMSIG(st), &v); else napi_get_null(env, &v);
  napi_set_named_property(env, result, "signal", v);
  return result;
}

static napi_value js_peek(napi_env env, napi_callback_info info) {
  (void)info;
  siginfo_t si;
  si.si_pid = 0;  // stays 0 when no child has ended (WNOHANG)
  int r;
  do r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT); while (r < 0 && errno == EINTR);
  napi_value result;
  napi_create_int32(env, r < 0 ? 0 : si.si_pid, &result);
  return result;
}

// --- listening sockets ---------------------------------------------------------------------------

static int int_prop(napi_env env, napi_value obj, const char *key, int fallback) {
  int32_t n;
  napi_value v = prop(env, obj, key);
  return v && napi_get_value_int32(env, v, &n) == napi_ok ? n : fallback;
}

// listen({path, backlog, mode, uid, gid}) or listen({host, port, backlog}): the fd (O_CLOEXEC).
// A stale unix socket file is replaced, as Supervisor does; anything else at the path is an error.
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts = NULL, result;
  napi_get_cb_info(env, info, &argc, &opts, NULL, NULL);
  if (argc < 1) { napi_throw_type_error(env, NULL, "listen: options are required"); return NULL; }
  char *path = string_of(env, prop(env, opts, "path"));
  char *host = string_of(env, prop(env, opts, "host"));
  int backlog = int_prop(env, opts, "backlog", SOMAXCONN);
  int fd = -1, err = 0;
  enum step step = STEP_NONE;
  if (path) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    if (strlen(path) >= sizeof sa.sun_path) { step = STEP_BIND; err = ENAMETOOLONG; goto done; }
    strcpy(sa.sun_path, path);
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) { step = STEP_SOCKET; err = errno; goto done; }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { step = STEP_BIND; err = errno; goto done; }
    int mode = int_prop(env, opts, "mode", 0700);
    if (chmod(path, (mode_t)mode) < 0) { step = STEP_CHMOD; err = errno; goto done; }
    int uid = int_prop(env, opts, "uid", -1), gid = int_prop(env, opts, "gid", -1);
    if ((uid >= 0 || gid >= 0) && chown(path, (uid_t)uid, (gid_t)gid) < 0) { step = STEP_CHOWN; err = errno; goto done; }
  } else {
    char port[16];
    snprintf(port, sizeof port, "%d", int_prop(env, opts, "port", 0));
    struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int r = getaddrinfo(host && *host ? host : NULL, port, &hints, &ai);
    if (r != 0) { step = STEP_RESOLVE; err = r == EAI_SYSTEM ? errno : EADDRNOTAVAIL; goto done; }
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) { step = STEP_SOCKET; err = errno; freeaddrinfo(ai); goto done; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // a restart of ringmaster rebinds at once
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) { step = STEP_BIND; err = errno; freeaddrinfo(ai); goto done; }
    freeaddrinfo(ai);
  }
  if (listen(fd, backlog) < 0) { step = STEP_LISTEN; err = errno; }
done:
  free(path);
  free(host);
  if (step != STEP_NONE) {
    if (fd >= 0) close(fd);
    return throw_errno(env, step, err);
  }
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value js_set_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
  return result;
}


// --- sd_notify sockets ----------------------------------------------------------------------------

// One bound SOCK_DGRAM socket. Datagrams are read when libuv says the fd is readable (no timer, no
// thread) and handed to the JS callback as (text, sender pid, sender uid): SO_PASSCRED makes the
// kernel attach the sender's credentials to each one (pid 0 when the sender is in a pid namespace
// we cannot see). File descriptors sent along (systemd-notify's BARRIER=1 sends one and waits until
// the receiver closes it) are closed at once, which is the barrier's answer.
struct notify {
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  uv_poll_t poll;
  int fd;
  int closed;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];  // unlinked at close ('' for abstract)
};

#define NOTIFY_MAX 4096          // systemd's NOTIFY_BUFFER_MAX: a longer datagram is cut there
#define NOTIFY_PER_WAKEUP 64     // a flooding sender cannot hold the event loop: the rest waits a turn

static void notify_free(uv_handle_t *h) { free(h->data); }

static void notify_close(struct notify *n) {
  if (n->closed) return;
  n->closed = 1;
  uv_poll_stop(&n->poll);
  uv_close((uv_handle_t *)&n->poll, notify_free);  // frees n once libuv is done with the handle
  close(n->fd);
  if (n->path[0]) unlink(n->path);
  napi_delete_reference(n->env, n->callback);
  napi_async_destroy(n->env, n->context);
}

static void notify_readable(uv_poll_t *h, int status, int events) {
  struct notify *n = h->data;
  napi_env env = n->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  for (int i = 0; i < NOTIFY_PER_WAKEUP && !n->closed; i++) {
    char buf[NOTIFY_MAX];
    union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)]; } control;
    struct iovec iov = { buf, sizeof buf };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
    ssize_t got = recvmsg(n->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained
    }
    int32_t pid = 0;
    int64_t uid = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
        struct ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof cred);
        pid = cred.pid;
        uid = cred.uid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int k = 0; k < count; k++) {
          int fd;
          memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
          close(fd);
        }
      }
    }
    napi_value argv[3], callback, global, ignored;
    napi_create_string_utf8(env, buf, (size_t)got, &argv[0]);
    napi_create_int32(env, pid, &argv[1]);
    napi_create_int64(env, uid, &argv[2]);
    napi_get_reference_value(env, n->callback, &callback);
    napi_get_global(env, &global);
    if (napi_make_callback(env, n->context, global, callback, 3, argv, &ignored) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);  // process 'uncaughtException', as for any callback
      }
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static napi_value js_notify_close(napi_env env, napi_callback_info info) {
  void *data;
  napi_value self;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, &self, &data);
  struct notify *n;
  if (napi_remove_wrap(env, self, (void **)&n) == napi_ok && n) notify_close(n);
  return NULL;
}

static void notify_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  notify_close(data);  // dropped without close(): no fd and no poll handle outlive it
}

// notifyOpen(address, callback): '@name' is an abstract address, anything else a path (a stale
// socket file there is replaced; mode from the third argument, default 0600). Returns
// {fd, close()}. The poll handle is unref'd: it never keeps ringmaster alive on its own.
static napi_value js_notify_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = { NULL, NULL, NULL }, result, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  char *address = argc >= 1 ? string_of(env, argv[0]) : NULL;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len = address ? strlen(address) : 0;
  if (!address || t != napi_function || len < 2 || len >= sizeof sa.sun_path) {
    free(address);
    napi_throw_type_error(env, NULL, "notifyOpen: an address ('@name' or a path of at most 107 bytes) and a callback are required");
    return NULL;
  }
  int abstract = address[0] == '@';
  memcpy(sa.sun_path, address, len);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
  if (abstract) sa.sun_path[0] = '\0';
  int64_t mode = argc >= 3 ? id_of(env, argv[2]) : -1;
  const char *failed = NULL;
  int err = 0, one = 1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) { failed = "socket"; err = errno; }
  else if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) { failed = "setsockopt"; err = errno; }
  else {
    struct stat st;
    if (!abstract && lstat(address, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(address);
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0) { failed = "bind"; err = errno; }
    else if (!abstract && chmod(address, (mode_t)(mode >= 0 ? mode : 0600)) < 0) { failed = "chmod"; err = errno; unlink(address); }
  }
  if (failed) {
    if (fd >= 0) close(fd);
    free(address);
    return throw_syscall(env, failed, err);
  }
  struct notify *n = calloc(1, sizeof *n);
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  n->env = env;
  n->fd = fd;
  if (!abstract) memcpy(n->path, address, len + 1);
  free(address);
  napi_create_reference(env, argv[1], 1, &n->callback);
  napi_value name;
  napi_create_string_utf8(env, "ringmaster:notify", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &n->context);
  uv_poll_init(loop, &n->poll, fd);
  n->poll.data = n;
  uv_poll_start(&n->poll, UV_READABLE, notify_readable);
  uv_unref((uv_handle_t *)&n->poll);

  napi_create_object(env, &result);
  napi_create_int32(env, fd, &v); napi_set_named_property(env, result, "fd", v);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_notify_close, NULL, &v);
  napi_set_named_property(env, result, "close", v);
  napi_wrap(env, result, n, notify_finalize, NULL, NULL);
  return result;
}

/*
 * Most of a Node process's resident memory is pages of its own executable (V8's compiler, Node's
 * builtin sources and snapshot) touched once at start-up. They are clean file pages: dropping them
 * from this process (the page cache keeps them) costs a page fault if one is needed again.
 * Only mappings of /proc/self/exe that are not writable and hold no anonymous (copy-on-write)
 * page: the relocated RELRO/GOT pages are such, and dropping them would restore unrelocated bytes.
 * Returns the bytes advised away (an upper bound of what is freed), or -1 if smaps is unreadable.
 */
struct trim_range { unsigned long start, end; int eligible; };

static void trim_flush(struct trim_range *r, double *advised) {
  if (r->eligible && r->end > r->start && madvise((void *)r->start, r->end - r->start, MADV_DONTNEED) == 0)
    *advised += (double)(r->end - r->start);
  r->eligible = 0;
}

// --- the output's hot path ------------------------------------------------------------------------

static int buffer_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

// countLines(chunk, from, to, maxLine): the lines of chunk[from..to) (each ends with '\n'), or -1
// if one is longer than maxLine bytes (the caller cuts those) or the range is not in the chunk.
static napi_value js_count_lines(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *chunk;
  size_t length;
  int32_t from = 0, to = 0, max = 0, lines = -1;
  if (argc == 4 && buffer_arg(env, argv[0], &chunk, &length) && napi_get_value_int32(env, argv[1], &from) == napi_ok &&
      napi_get_value_int32(env, argv[2], &to) == napi_ok && napi_get_value_int32(env, argv[3], &max) == napi_ok &&
      from >= 0 && from <= to && (size_t)to <= length) {
    lines = 0;
    const uint8_t *p = chunk + from, *end = chunk + to;
    while (p < end) {
      const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl || nl - p > max) { lines = -1; break; }
      lines++;
      p = nl + 1;
    }
  }
  napi_value result;
  napi_create_int32(env, lines, &result);
  return result;
}

// prefixLines(chunk, from, to, prefix, out, at): writes prefix + line for every line of
// chunk[from..to) into out from `at`; returns the bytes written, or -1 if a range is wrong or the
// lines do not fit (checked line by line: nothing is ever written past the end of `out`). One
// pass of memchr and memcpy instead of a JS loop per line; the caller reserved the room that
// countLines said, so -1 means a bug.
static napi_value js_prefix_lines(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *chunk, *prefix, *out;
  size_t chunk_len, prefix_len, out_len;
  int32_t from = 0, to = 0, at = 0, written = -1;
  if (argc == 6 && buffer_arg(env, argv[0], &chunk, &chunk_len) && napi_get_value_int32(env, argv[1], &from) == napi_ok &&
      napi_get_value_int32(env, argv[2], &to) == napi_ok && buffer_arg(env, argv[3], &prefix, &prefix_len) &&
      buffer_arg(env, argv[4], &out, &out_len) && napi_get_value_int32(env, argv[5], &at) == napi_ok &&
      from >= 0 && from <= to && (size_t)to <= chunk_len && at >= 0 && (size_t)at <= out_len) {
    uint8_t *o = out + at, *out_end = out + out_len;
    const uint8_t *p = chunk + from, *end = chunk + to;
    while (p < end) {
      const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl) break;
      size_t n = (size_t)(nl - p) + 1;
      if ((size_t)(out_end - o) < prefix_len + n) break;
      memcpy(o, prefix, prefix_len);
      memcpy(o + prefix_len, p, n);
      o += prefix_len + n;
      p = nl + 1;
    }
    if (p == end) written = (int32_t)(o - out - at);
  }
  napi_value result;
  napi_create_int32(env, written, &result);
  return result;
}

void ringmaster_low_memory_notification(void);  // native/v8-heap.cc

static napi_value js_reduce_heap(napi_env env, napi_callback_info info) {
  (void)info;
  ringmaster_low_memory_notification();
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  malloc_trim(0);
  double advised = -1;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  FILE *f = n > 0 ? fopen("/proc/self/smaps", "re") : NULL;
  if (f) {
    exe[n] = 0;
    advised = 0;
    struct trim_range r = { 0, 0, 0 };
    char line[PATH_MAX + 256];
    while (fgets(line, sizeof line, f)) {
      if (isxdigit((unsigned char)line[0]) && !isupper((unsigned char)line[0])) {
        trim_flush(&r, &advised);
        char perms[8] = "";
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &r.start, &r.end, perms, &path_at) < 3) continue;
        char *path = line + path_at;
        path[strcspn(path, "\n")] = 0;
        // " (deleted)" follows the path of an executable replaced since it started.
        r.eligible = path_at > 0 && strncmp(path, exe, (size_t)n) == 0 && (path[n] == 0 || path[n] == ' ') && perms[1] != 'w';
      } else if (r.eligible && strncmp(line, "Anonymous:", 10) == 0) {
        if (strtoul(line + 10, NULL, 10) != 0) r.eligible = 0;
      }
    }
    trim_flush(&r, &advised);
    fclose(f);
  }
  napi_value result;
  napi_create_double(env, advised, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "spawn", NULL, js_spawn, NULL, NULL, NULL, napi_default, NULL },
    { "reap", NULL, js_reap, NULL, NULL, NULL, napi_default, NULL },
    { "peek", NULL, js_peek, NULL, NULL, NULL, napi_default, NULL },
    { "setSubreaper", NULL, js_set_subreaper, NULL, NULL, NULL, napi_default, NULL },
    { "notifyOpen", NULL, js_notify_open, NULL, NULL, NULL, napi_default, NULL },
    { "listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL },
    { "trimMemory", NULL, js_trim_memory, NULL, NULL, NULL, napi_default, NULL },
    { "reduceHeap", NULL, js_reduce_heap, NULL, NULL, NULL, napi_default, NULL },
    { "countLines", NULL, js_count_lines, NULL, NULL, NULL, napi_default, NULL },
    { "prefixLines", NULL, js_prefix_lines, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
