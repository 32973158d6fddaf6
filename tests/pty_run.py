"""Runs a command in a pseudo-terminal, as a person at a terminal would, and types Ctrl-C.

Usage: python3 pty_run.py CWD READY_FILE INTERRUPTS GAP_SECONDS TIMEOUT_SECONDS -- COMMAND...

Waits until READY_FILE exists, types Ctrl-C (\\x03) INTERRUPTS times, GAP_SECONDS apart, and
waits for the command to end. Prints one JSON line: the exit code (128+N for a signal), the
seconds from the last Ctrl-C to the end, and everything the terminal showed.
"""
import json
import os
import pty
import select
import sys
import time


def main() -> None:
    cwd, ready, interrupts, gap, timeout = sys.argv[1:6]
    command = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvp(command[0], command)
    output = bytearray()
    deadline = time.monotonic() + float(timeout)
    sent = 0
    last_sent = None
    next_at = None
    status = None
    while time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.02)
        if readable:
            try:
                output += os.read(fd, 65536)
            except OSError:
                pass
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            break
        now = time.monotonic()
        if sent < int(interrupts) and os.path.exists(ready) and (next_at is None or now >= next_at):
            os.write(fd, b"\x03")
            sent += 1
            last_sent = now
            next_at = now + float(gap)
    if status is None:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        code = -1
    else:
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code
    ended = time.monotonic()
    while True:
        readable, _, _ = select.select([fd], [], [], 0.05)
        if not readable:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    print(json.dumps({
        "code": code,
        "interrupts": sent,
        "secondsAfterLastInterrupt": None if last_sent is None else round(ended - last_sent, 3),
        "output": output.decode("utf-8", "replace"),
    }))


main()
