#!/usr/bin/env python3
"""Verify a model directory in N slices on a Ray cluster, then merge them.

    python deploy/ray/verify.py DIR --parts N [--key PUB] [--trust T] [--level L]
        [--modelseal PATH] [--out merged.json] [--address ADDR] [--format text|json]

Each of N Ray tasks runs `modelseal verify DIR --partition i/N --format json`
as a subprocess and returns its exit status and JSON report. The reports are
written to a temporary directory and joined by `modelseal merge`, whose report
is printed (and written to --out as JSON); the script exits with merge's
status: 0 verified, 1 verification failed, 2 error or refused set.

A slice that exits 1 found problems: that is a finished slice, not a failed
task, so it is neither retried nor an error, and the merge gives the verdict.
A slice that exits 2 (bad key, policy or directory) is an error: the script
stops with exit 2 without merging.

Without --address (and without RAY_ADDRESS set), ray.init() starts a local
cluster on this machine. With --address, the tasks run on the cluster's nodes:
DIR, the modelseal binary and the key or policy files must then be at the same
absolute paths on every node (a shared filesystem, or the same image).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import ray


@ray.remote
def verify_slice(modelseal, directory, index, parts, options):
    """Runs one slice; returns (exit status, JSON report text, stderr, host)."""
    proc = subprocess.run(
        [modelseal, "verify", directory, *options,
         "--partition", f"{index}/{parts}", "--format", "json"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr, socket.gethostname()


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Verify DIR in N slices on Ray, then merge the slice reports.")
    p.add_argument("dir", metavar="DIR", help="the model directory")
    p.add_argument("--parts", type=int, required=True, metavar="N",
                   help="the number of slices (Ray tasks)")
    p.add_argument("--key", action="append", default=[], metavar="PUB",
                   help="a trusted public key (repeatable)")
    p.add_argument("--trust", metavar="T", help="a trust policy file")
    p.add_argument("--level", choices=["0", "1", "2", "3"],
                   help="the level that must hold (modelseal's default: 1)")
    p.add_argument("--modelseal", metavar="PATH",
                   help="the modelseal binary (default: $MODELSEAL, else modelseal on PATH)")
    p.add_argument("--out", metavar="FILE", help="also write the merged JSON report here")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="how to print the merged report (default: text)")
    p.add_argument("--address", help="join this Ray cluster instead of starting a local one")
    p.add_argument("--cpus-per-task", type=int, default=1, metavar="C",
                   help="CPUs Ray reserves for each slice, and modelseal's hashing threads")
    args = p.parse_args(argv)
    if args.parts < 1:
        p.error("--parts must be at least 1")
    if args.cpus_per_task < 1:
        p.error("--cpus-per-task must be at least 1")
    return args


def find_modelseal(given):
    name = given or os.environ.get("MODELSEAL") or "modelseal"
    path = shutil.which(name)
    if path is None:
        sys.exit(f"verify.py: modelseal binary not found: {name}")
    return os.path.abspath(path)


def verify_options(args):
    """The verify flags every slice gets, with paths made absolute for the workers."""
    options = []
    for key in args.key:
        options += ["--key", os.path.abspath(key)]
    if args.trust:
        options += ["--trust", os.path.abspath(args.trust)]
    if args.level is not None:
        options += ["--level", args.level]
    options += ["--jobs", str(args.cpus_per_task)]
    return options


def run_slices(modelseal, directory, parts, options, cpus):
    """Runs the N slices on Ray; returns their results in slice order."""
    task = verify_slice.options(num_cpus=cpus)
    refs = [task.remote(modelseal, directory, i, parts, options) for i in range(parts)]
    return ray.get(refs)


def write_parts(results, parts, outdir):
    """Writes each finished slice's report; returns the paths, or None on an error."""
    paths = []
    failed = False
    for i, (rc, report, stderr, host) in enumerate(results):
        what = {0: "verified", 1: "problems found", 2: "error"}.get(rc, "crashed")
        print(f"verify.py: slice {i}/{parts} on {host}: exit {rc} ({what})", file=sys.stderr)
        if rc in (0, 1):
            try:
                json.loads(report)
            except ValueError:
                print(f"verify.py: slice {i}/{parts} printed no JSON report", file=sys.stderr)
                failed = True
                continue
            path = os.path.join(outdir, f"part-{i}.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(report)
            paths.append(path)
        else:
            # Exit 2 prints {"ok": false, "error": ...} on stdout; anything else
            # (a signal, a panic) says what happened on stderr.
            print((report.strip() or stderr.strip()), file=sys.stderr)
            failed = True
    return None if failed else paths


def merge(modelseal, paths, fmt, out):
    """Runs modelseal merge; prints its report; returns its exit status."""
    merged = subprocess.run([modelseal, "merge", *paths, "--format", "json"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            check=False)
    sys.stderr.write(merged.stderr)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(merged.stdout)
    if fmt == "json" or merged.returncode == 2:
        sys.stdout.write(merged.stdout)
    else:
        text = subprocess.run([modelseal, "merge", *paths, "--format", "text"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              check=False)
        sys.stdout.write(text.stdout)
        sys.stderr.write(text.stderr)
    sys.stdout.flush()
    return merged.returncode


def main(argv):
    args = parse_args(argv)
    modelseal = find_modelseal(args.modelseal)
    directory = os.path.abspath(args.dir)
    options = verify_options(args)

    started = time.monotonic()
    if args.address:
        ray.init(address=args.address, logging_level="WARNING")
    else:
        # A local cluster: no dashboard, nothing this example needs.
        ray.init(include_dashboard=False, logging_level="WARNING")
    ready = time.monotonic()
    try:
        results = run_slices(modelseal, directory, args.parts, options, args.cpus_per_task)
    except ray.exceptions.RayError as e:
        print(f"verify.py: a slice task failed: {e}", file=sys.stderr)
        return 2
    finally:
        done = time.monotonic()
        ray.shutdown()
    print(f"verify.py: ray.init {ready - started:.1f}s, {args.parts} slices "
          f"{done - ready:.1f}s", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="modelseal-parts-") as outdir:
        paths = write_parts(results, args.parts, outdir)
        if paths is None:
            return 2
        return merge(modelseal, paths, args.format, args.out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
