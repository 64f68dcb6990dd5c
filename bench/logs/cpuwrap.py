# Runs a command and reports its own CPU seconds (utime+stime of all its threads, not its
# children's): waits for its exit without reaping it (waitid WNOWAIT), reads the zombie's
# /proc/<pid>/stat, then reaps it. Writes "<pid>" to REPORT.pid at start and "<cpu seconds>" to
# REPORT at the end; exits with the command's status. SIGTERM/SIGINT to the wrapper are ignored
# (they are meant for the command: signal it by the pid in REPORT.pid).
#   python3 cpuwrap.py REPORT cmd args...
import os, signal, sys

report, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execvp(argv[0], argv)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
with open(report + '.pid', 'w') as f:
    f.write(str(pid))
os.close(1)  # only the command writes to the pipe: its end is the reader's EOF
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
with open('/proc/%d/stat' % pid) as f:
    stat = f.read()
fields = stat[stat.rindex(')') + 2:].split()
cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
_, status = os.waitpid(pid, 0)
with open(report, 'w') as f:
    f.write('%.2f' % cpu)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
