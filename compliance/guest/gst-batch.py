#!/usr/bin/python3
"""One GStreamer client process for the decode suites (decode-lib.sh).

Reads jobs from stdin, one per line: LOG<TAB>PIPELINE (gst-launch syntax).
Each pipeline runs to EOS or ERROR, then down to NULL, before the next one
starts, as in a player that plays one file after another. While a job runs,
its standard output and error (GStreamer's debug log included) go to LOG,
with the lines gst-launch -m prints for the same messages, so the suites read
the log as they read gst-launch's. When the job ends, one line goes to the
original standard output: "done RC", RC as gst-launch's (0 at EOS, 1 on an
error or a pipeline that does not parse).

The point is start-up: under TCG a gst-launch process takes ~4.5 s to start
(dynamic linking, plugin loading), longer than most conformance streams take
to decode.
"""

import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def say(fd, text):
    os.write(fd, (text + "\n").encode("utf-8", "replace"))


def source_name(msg):
    src = msg.src
    return src.get_name() if src is not None else "(none)"


def run(log_fd, desc):
    """Runs one pipeline; returns gst-launch's exit code."""
    try:
        pipeline = Gst.parse_launch(desc)
    except Exception as err:  # GLib.Error: the description does not parse
        say(log_fd, f"ERROR: pipeline could not be constructed: {err}.")
        return 1
    bus = pipeline.get_bus()
    say(log_fd, "Setting pipeline to PAUSED ...")
    if pipeline.set_state(Gst.State.PAUSED) == Gst.StateChangeReturn.FAILURE:
        say(log_fd, "ERROR: Pipeline doesn't want to pause.")
        rc = 1
    else:
        say(log_fd, "Setting pipeline to PLAYING ...")
        pipeline.set_state(Gst.State.PLAYING)
        rc = wait(bus, log_fd)
    say(log_fd, "Setting pipeline to NULL ...")
    pipeline.set_state(Gst.State.NULL)
    pipeline.get_state(Gst.CLOCK_TIME_NONE)
    say(log_fd, "Freeing pipeline ...")
    return rc


def wait(bus, log_fd):
    kinds = (
        Gst.MessageType.EOS
        | Gst.MessageType.ERROR
        | Gst.MessageType.WARNING
        | Gst.MessageType.ELEMENT
    )
    n = 0
    while True:
        msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, kinds)
        if msg is None:
            continue
        n += 1
        s = msg.get_structure()
        if msg.type == Gst.MessageType.ELEMENT and s is not None:
            say(log_fd, f"Got message #{n} from element \"{source_name(msg)}\" "
                f"(element): {s.to_string()}")
        elif msg.type == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            say(log_fd, f"WARNING: from element {source_name(msg)}: {err.message}")
            say(log_fd, f"Additional debug info:\n{dbg}")
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            say(log_fd, f"ERROR: from element {source_name(msg)}: {err.message}")
            say(log_fd, f"Additional debug info:\n{dbg}")
            say(log_fd, "ERROR: pipeline doesn't want to preroll.")
            return 1
        elif msg.type == Gst.MessageType.EOS:
            say(log_fd, f"Got EOS from element \"{source_name(msg)}\".")
            return 0


def main():
    Gst.init(None)
    proto = os.dup(1)
    between = os.dup(2)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        log, _, desc = line.partition("\t")
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        try:
            rc = run(log_fd, desc)
        finally:
            os.dup2(between, 1)
            os.dup2(between, 2)
            os.close(log_fd)
        say(proto, f"done {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
