// The few syscalls Node lacks, for ringmaster (contract: src/pid1/native-types.ts):
//   spawn         fork/exec with process group, terminal foreground, credentials with the user's
//                 supplementary groups, umask and cwd, reporting the failing step and errno;
//   reap          waitpid(pid, WNOHANG) on a pid libuv does not own;
//   peek          waitid(P_ALL, WNOWAIT): which child has ended, without reaping it;
//   setSubreaper  prctl(PR_SET_CHILD_SUBREAPER).
// Never waitpid(-1): that would steal exit statuses from libuv's own children.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

enum step { STEP_FORK = 1, STEP_PIPE, STEP_PGROUP, STEP_STDIO, STEP_UMASK, STEP_CHDIR, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_EXEC };
static const char *step_names[] = { "", "fork", "pipe", "setpgid", "dup2", "umask", "chdir", "setgroups", "setgid", "setuid", "exec" };

enum mode { MODE_PIPE, MODE_NULL, MODE_INHERIT, MODE_STDOUT };

struct report { int step; int err; };

static const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES"; case ENOEXEC: return "ENOEXEC";
    case EPERM: return "EPERM"; case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP"; case ENAMETOOLONG: return "ENAMETOOLONG"; case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM"; case EINVAL: return "EINVAL"; case EAGAIN: return "EAGAIN";
    case EMFILE: return "EMFILE"; case ETXTBSY: return "ETXTBSY"; default: return NULL;
  }
}

static napi_value throw_errno(napi_env env, int step, int err) {
  char code[32];
  const char *name = errno_name(err);
  if (name) snprintf(code, sizeof code, "%s", name); else snprintf(code, sizeof code, "E%d", err);
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", step_names[step], strerror(err));
  napi_value error, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &v);
  napi_create_error(env, NULL, v, &error);
  napi_create_int32(env, err, &v); napi_set_named_property(env, error, "errno", v);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, error, "code", v);
  napi_create_string_utf8(env, step_names[step], NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, error, "syscall", v);
  napi_throw(env, error);
  return NULL;
}

// --- reading JS values -------------------------------------------------------------------------

static char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static int has_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return 0;
  napi_get_named_property(env, obj, key, out);
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

static char *get_string_prop(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  return has_prop(env, obj, key, &v) ? get_string(env, v) : NULL;
}

static int get_int_prop(napi_env env, napi_value obj, const char *key, int fallback) {
  napi_value v;
  int32_t n;
  if (!has_prop(env, obj, key, &v) || napi_get_value_int32(env, v, &n) != napi_ok) return fallback;
  return n;
}

// A NULL-terminated array of strings (argv, envp); *count gets the length.
static char **get_string_array(napi_env env, napi_value obj, const char *key, uint32_t *count) {
  napi_value arr;
  *count = 0;
  if (!has_prop(env, obj, key, &arr)) return calloc(1, sizeof(char *));
  napi_get_array_length(env, arr, count);
  char **out = calloc(*count + 1, sizeof(char *));
  for (uint32_t i = 0; i < *count; i++) {
    napi_value el;
    napi_get_element(env, arr, i, &el);
    out[i] = get_string(env, el);
  }
  return out;
}

static void free_strings(char **a) {
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

static enum mode get_mode(napi_env env, napi_value obj, const char *key) {
  char *s = get_string_prop(env, obj, key);
  enum mode m = MODE_INHERIT;
  if (s && strcmp(s, "pipe") == 0) m = MODE_PIPE;
  else if (s && strcmp(s, "null") == 0) m = MODE_NULL;
  else if (s && strcmp(s, "stdout") == 0) m = MODE_STDOUT;
  free(s);
  return m;
}

// --- the child, between fork and exec: async-signal-safe calls and raw syscalls only ----------

static void child_fail(int report_fd, int step) {
  struct report r = { step, errno };
  ssize_t ignored = write(report_fd, &r, sizeof r);
  (void)ignored;
  _exit(127);
}

struct child_setup {
  const char *file, *cwd;
  char **argv, **envp;
  int pgroup;  // 0 none, 1 setpgid, 2 setsid
  int foreground;
  int std_fd[3];  // fd to install as 0/1/2, or -1 to keep ringmaster's
  int have_creds, uid, gid, umask;
  gid_t *groups;
  int ngroups;
};

static void run_child(const struct child_setup *c, int report_fd) {
  sigset_t all;
  sigemptyset(&all);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);  // Node ignores SIGPIPE; that must not leak into programs
  }
  if (c->pgroup == 1 && setpgid(0, 0) < 0) child_fail(report_fd, STEP_PGROUP);
  if (c->pgroup == 2 && setsid() < 0) child_fail(report_fd, STEP_PGROUP);
  if (c->foreground && isatty(0)) {
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(0, getpid());  // ENOTTY/ENXIO: no terminal to hand over, fine
    signal(SIGTTOU, SIG_DFL);
  }
  // Move the fds to install above 2 first, so a dup2 onto 0..2 cannot clobber another one.
  int moved[3];
  for (int i = 0; i < 3; i++) {
    moved[i] = c->std_fd[i] < 0 ? -1 : fcntl(c->std_fd[i], F_DUPFD_CLOEXEC, 3);
    if (c->std_fd[i] >= 0 && moved[i] < 0) child_fail(report_fd, STEP_STDIO);
  }
  for (int i = 0; i < 3; i++)
    if (moved[i] >= 0 && dup2(moved[i], i) < 0) child_fail(report_fd, STEP_STDIO);
  for (int i = 0; i < 3; i++) fcntl(i, F_SETFD, 0);  // Node marks its own 0..2 close-on-exec
#ifdef SYS_close_range
  syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);  // no stray fd reaches a program
#endif
  if (c->umask >= 0) umask((mode_t)c->umask);
  if (c->cwd && chdir(c->cwd) < 0) child_fail(report_fd, STEP_CHDIR);
  if (c->have_creds) {
    // Raw syscalls: the child has one thread, glibc's all-threads setxid dance is not wanted here.
    if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0) child_fail(report_fd, STEP_SETGROUPS);
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0) child_fail(report_fd, STEP_SETGID);
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0) child_fail(report_fd, STEP_SETUID);
  }
  sigprocmask(SIG_SETMASK, &all, NULL);
  execve(c->file, c->argv, c->envp);
  child_fail(report_fd, STEP_EXEC);
}

// --- spawn -------------------------------------------------------------------------------------

static void close_if(int fd) { if (fd >= 0) close(fd); }

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  CHECK(napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));

  struct child_setup c = { 0 };
  uint32_t n;
  c.file = get_string_prop(env, opts, "file");
  if (!c.file) { napi_throw_type_error(env, NULL, "spawn: file is required"); return NULL; }
  c.cwd = get_string_prop(env, opts, "cwd");
  c.argv = get_string_array(env, opts, "argv", &n);
  c.envp = get_string_array(env, opts, "env", &n);
  char *pg = get_string_prop(env, opts, "pgroup");
  c.pgroup = pg && strcmp(pg, "pgroup") == 0 ? 1 : pg && strcmp(pg, "session") == 0 ? 2 : 0;
  free(pg);
  napi_value v;
  bool b = false;
  if (has_prop(env, opts, "foreground", &v)) napi_get_value_bool(env, v, &b);
  c.foreground = b;
  c.umask = get_int_prop(env, opts, "umask", -1);
  int uid = get_int_prop(env, opts, "uid", -1), gid = get_int_prop(env, opts, "gid", -1);
  c.have_creds = uid >= 0 || gid >= 0;
  c.uid = uid >= 0 ? uid : (int)getuid();
  c.gid = gid >= 0 ? gid : (int)getgid();
  if (has_prop(env, opts, "groups", &v)) {
    uint32_t len;
    napi_get_array_length(env, v, &len);
    c.groups = calloc(len + 1, sizeof(gid_t));
    for (uint32_t i = 0; i < len; i++) {
      napi_value el;
      uint32_t g;
      napi_get_element(env, v, i, &el);
      napi_get_value_uint32(env, el, &g);
      c.groups[c.ngroups++] = g;
    }
  } else {
    c.groups = calloc(1, sizeof(gid_t));
    c.groups[c.ngroups++] = c.gid;
  }

  enum mode modes[3] = { get_mode(env, opts, "stdin"), get_mode(env, opts, "stdout"), get_mode(env, opts, "stderr") };
  int parent_fd[3] = { -1, -1, -1 }, child_fd[3] = { -1, -1, -1 }, report[2] = { -1, -1 };
  int fail_step = 0, fail_err = 0, devnull = -1;
  for (int i = 0; i < 3 && !fail_step; i++) {
    if (modes[i] == MODE_PIPE) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0) { fail_step = STEP_PIPE; fail_err = errno; break; }
      parent_fd[i] = i == 0 ? p[1] : p[0];
      child_fd[i] = i == 0 ? p[0] : p[1];
    } else if (modes[i] == MODE_NULL) {
      if (devnull < 0) devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull < 0) { fail_step = STEP_PIPE; fail_err = errno; break; }
      child_fd[i] = devnull;
    } else if (modes[i] == MODE_STDOUT) {
      child_fd[i] = child_fd[1] >= 0 ? child_fd[1] : -1;  // -1 with inherited stdout: keep fd 2 as is
    }
  }
  if (!fail_step && pipe2(report, O_CLOEXEC) < 0) { fail_step = STEP_PIPE; fail_err = errno; }
  if (modes[2] == MODE_STDOUT && modes[1] == MODE_INHERIT) child_fd[2] = 1;  // dup2(1, 2)

  pid_t pid = -1;
  if (!fail_step) {
    for (int i = 0; i < 3; i++) c.std_fd[i] = child_fd[i];
    // vfork, as posix_spawn does: no copy of Node's page tables (ten times faster than fork for
    // a 40 MB process); the parent waits until the child has exec'd or failed. Every signal is
    // blocked around it so no handler of Node's runs in the child before it reset them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = vfork();
    if (pid == 0) run_child(&c, report[1]);
    if (pid < 0) { fail_step = STEP_FORK; fail_err = errno; }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  close_if(report[1]);
  if (child_fd[2] == child_fd[1]) child_fd[2] = -1;  // the same pipe end: close it once
  for (int i = 0; i < 3; i++) if (child_fd[i] != devnull && child_fd[i] > 2) close_if(child_fd[i]);
  close_if(devnull);

  if (!fail_step) {
    struct report r;
    ssize_t got;
    do got = read(report[0], &r, sizeof r); while (got < 0 && errno == EINTR);
    if (got == sizeof r) {
      fail_step = r.step;
      fail_err = r.err;
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    }
  }
  close_if(report[0]);

  free((char *)c.file); free((char *)c.cwd); free_strings(c.argv); free_strings(c.envp); free(c.groups);
  if (fail_step) {
    for (int i = 0; i < 3; i++) close_if(parent_fd[i]);
    return throw_errno(env, fail_step, fail_err);
  }
  for (int i = 0; i < 3; i++)
    if (parent_fd[i] >= 0) fcntl(parent_fd[i], F_SETFL, fcntl(parent_fd[i], F_GETFL) | O_NONBLOCK);

  napi_value result;
  napi_create_object(env, &result);
  napi_create_int32(env, pid, &v); napi_set_named_property(env, result, "pid", v);
  napi_create_int32(env, parent_fd[0], &v); napi_set_named_property(env, result, "stdinFd", v);
  napi_create_int32(env, parent_fd[1], &v); napi_set_named_property(env, result, "stdoutFd", v);
  napi_create_int32(env, parent_fd[2], &v); napi_set_named_property(env, result, "stderrFd", v);
  return result;
}

// --- reaping -----------------------------------------------------------------------------------

static napi_value js_reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result, v;
  int32_t pid;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  CHECK(napi_get_value_int32(env, arg, &pid));
  int st;
  pid_t r;
  do r = waitpid(pid, &st, WNOHANG); while (r < 0 && errno == EINTR);
  if (r <= 0) {
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
  memset(&si, 0, sizeof si);
  napi_value result;
  int r;
  do r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT); while (r < 0 && errno == EINTR);
  napi_create_int32(env, r < 0 ? 0 : si.si_pid, &result);
  return result;
}

static napi_value js_set_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "spawn", NULL, js_spawn, NULL, NULL, NULL, napi_default, NULL },
    { "reap", NULL, js_reap, NULL, NULL, NULL, napi_default, NULL },
    { "peek", NULL, js_peek, NULL, NULL, NULL, napi_default, NULL },
    { "setSubreaper", NULL, js_set_subreaper, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
