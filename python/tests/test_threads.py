"""The GIL is released while modelseal works, and Ctrl-C stops it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import modelseal


def interrupt(call: str) -> float:
    """Runs `call` in a fresh interpreter (its main thread gets SIGINT, as at
    a terminal), sends SIGINT 0.5 s in, and returns how long it took to stop
    after the signal, having checked that it stopped by KeyboardInterrupt."""
    script = textwrap.dedent(
        f"""
        import sys, modelseal
        print("started", flush=True)
        {call}
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As at a terminal: a runner started in the background (`cmd &` in a
        # script) hands its children SIGINT ignored, and Python would keep it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    assert proc.poll() is None, "the call ended before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    stopped_after = time.monotonic() - sent
    assert "finished" not in out
    assert "KeyboardInterrupt" in err, err
    # Python exits on an uncaught KeyboardInterrupt by SIGINT.
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err)
    return stopped_after


def test_ctrl_c_stops_verification(slow_model: Path) -> None:
    # One thread hashing 8 GiB: seconds of work, interrupted after 0.5 s.
    stopped_after = interrupt(
        f"modelseal.verify({str(slow_model)!r}, level=0, jobs=1, check=False)"
    )
    # The readers stop between reads; the rest (7+ GiB) is not hashed.
    assert stopped_after < 1.0, f"took {stopped_after:.2f} s to stop"


def test_ctrl_c_stops_init_which_writes_nothing(tmp_path: Path) -> None:
    model = tmp_path / "big"
    model.mkdir()
    for i in range(4):
        with open(model / f"w{i}.bin", "wb") as f:
            f.truncate(2 << 30)
    stopped_after = interrupt(f"modelseal.init({str(model)!r}, jobs=1)")
    assert stopped_after < 1.0, f"took {stopped_after:.2f} s to stop"
    assert sorted(p.name for p in model.iterdir()) == [f"w{i}.bin" for i in range(4)]


def test_full_run_takes_longer_than_the_interrupt_budget(slow_model: Path) -> None:
    # What the test above relies on: uninterrupted, the same run lasts well
    # over a second (and it fails: the digests are wrong on purpose).
    start = time.monotonic()
    report = modelseal.verify(slow_model, level=0, jobs=2, check=False)
    assert time.monotonic() - start > 1.0
    assert not report.ok
    assert {p.kind for p in report.problems} == {"hash_mismatch"}
    assert report.files_checked == 4


def test_gil_is_released_during_verification(slow_model: Path) -> None:
    count = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.05)
        # The counter's pace while this thread sleeps (GIL released)...
        before, start = count, time.monotonic()
        time.sleep(0.3)
        idle_rate = (count - before) / (time.monotonic() - start)
        # ... and while it verifies (2 hashing threads share the 2 cores).
        before, start = count, time.monotonic()
        modelseal.verify(slow_model, level=0, jobs=2, check=False)
        elapsed = time.monotonic() - start
        busy_rate = (count - before) / elapsed
    finally:
        stop.set()
        thread.join()
    assert elapsed > 0.5
    # Released, the counter keeps about half its pace here; held (even if
    # dropped now and then), it falls below 1%.
    assert busy_rate > 0.1 * idle_rate, (
        f"counter at {busy_rate:.0f}/s during verify, {idle_rate:.0f}/s idle"
    )


def test_verify_from_another_thread(signed_model: Path) -> None:
    results: list[modelseal.Report] = []
    thread = threading.Thread(target=lambda: results.append(modelseal.verify(signed_model, level=0)))
    thread.start()
    thread.join(timeout=60)
    assert results and results[0].ok
