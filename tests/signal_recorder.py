"""A Terraform stand-in for interrupt tests: records every SIGINT it receives.

Usage: signal_recorder.py DIR TERRAFORM-ARGS...

Any command but `plan` exits 0 at once. `plan` writes DIR/planning and then
behaves like Terraform: the first interrupt starts a clean stop (after 2 s it
writes DIR/released, as Terraform releases its state lock, and exits 1); a
second interrupt stops it at once, lock held (exit 130). Each delivery is
appended to DIR/signals as it arrives (through the wakeup fd, one byte per
delivery, so two close signals are not merged into one).
"""
import os
import signal
import socket
import sys
import time

directory, args = sys.argv[1], sys.argv[2:]
if "plan" not in args:
    sys.exit(0)
reader, writer = socket.socketpair()
writer.setblocking(False)
signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
signal.signal(signal.SIGINT, lambda *_: None)
with open(os.path.join(directory, "planning"), "w") as f:
    f.write("planning\n")
received = 0
stop_at = None
deadline = time.monotonic() + 60
reader.settimeout(0.05)
while time.monotonic() < deadline:
    try:
        data = reader.recv(64)
    except (socket.timeout, InterruptedError):
        data = b""
    for byte in data:
        if byte == signal.SIGINT:
            received += 1
            with open(os.path.join(directory, "signals"), "a") as f:
                f.write(f"SIGINT {time.monotonic():.3f}\n")
    if received >= 2:
        sys.exit(130)
    if received == 1 and stop_at is None:
        stop_at = time.monotonic() + 2
    if stop_at is not None and time.monotonic() >= stop_at:
        with open(os.path.join(directory, "released"), "w") as f:
            f.write("lock released\n")
        sys.exit(1)
sys.exit(0)
