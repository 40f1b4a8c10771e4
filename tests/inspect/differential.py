#!/usr/bin/env python3
"""Content inspection against the real libraries and the peer scanners.

    python3 tests/inspect/differential.py MODELSEAL

Needs numpy, joblib, safetensors, gguf, onnx, picklescan and fickling from PyPI
(.ci/run installs them). Three checks, each failing loudly:

1. Fresh files: both corpus generators write their files again with the
   libraries installed today, and `modelseal inspect` judges every one of
   them as it judges the committed copy in fixtures/inspect/ (same verdict,
   same problem kinds).
2. Never laxer than a peer: a pickle-family file that picklescan calls
   infected, or that fickling rates LIKELY_OVERTLY_MALICIOUS or worse, is
   never `ok` for modelseal, except where SPEC 18.5 lists the peer as wrong
   (with why).
3. Every place modelseal is stricter (it fails a file that neither peer
   calls dangerous) is listed in SPEC 18.5, and nothing is listed there that
   is not.
"""

import json
import pathlib
import re
import subprocess
import sys
import tempfile
import warnings

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "inspect"
PICKLE_FAMILY = ("pickle", "torch", "numpy")
FICKLING_DANGEROUS = ("LIKELY_OVERTLY_MALICIOUS", "OVERTLY_MALICIOUS")


def inspect(modelseal, root):
    """{relative path: (verdict, sorted problem kinds)} for every file under root."""
    out = subprocess.run(
        [modelseal, "inspect", str(root), "--format", "json"],
        capture_output=True, text=True, check=False,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"differential: modelseal inspect {root} exited {out.returncode}: {out.stderr}")
    report = json.loads(out.stdout)
    prefix = str(root).rstrip("/") + "/"
    return {
        f["path"][len(prefix):]: (f["verdict"], sorted(p["kind"] for p in f["problems"]))
        for f in report["files"]
    }


def fresh_corpus(modelseal, work):
    """Check 1: regenerated files are judged as the committed ones."""
    for script in ("make_pickle_corpus.py", "make_structural_corpus.py"):
        subprocess.run(
            [sys.executable, str(REPO / "tests" / "inspect" / script), str(work)],
            check=True, stdout=subprocess.DEVNULL,
        )
    fresh = inspect(modelseal, work)
    committed = inspect(modelseal, FIXTURES)
    failures = [
        f"{rel}: fresh {got}, committed {committed.get(rel)}"
        for rel, got in sorted(fresh.items())
        if committed.get(rel) != got
    ]
    if failures:
        sys.exit("differential: files made today are judged otherwise:\n  " + "\n  ".join(failures))
    print(f"differential: {len(fresh)} files made afresh by the real libraries, each judged as its committed copy")
    return committed


def picklescan_dangerous(path):
    from picklescan.scanner import scan_file_path
    result = scan_file_path(str(path))
    return result.infected_files > 0


def fickling_severity(path):
    from fickling.analysis import check_safety
    from fickling.fickle import Pickled
    try:
        with open(path, "rb") as f:
            return check_safety(Pickled.load(f)).severity.name
    except Exception as e:  # fickling cannot read it: it says nothing
        return f"unreadable ({type(e).__name__})"


def documented(section_heading):
    """The files named in the first column of the table under a SPEC heading."""
    spec = (REPO / "manifests" / "SPEC.md").read_text(encoding="utf-8")
    body = spec.split(section_heading, 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", body, flags=re.M))


def against_peers(verdicts):
    """Checks 2 and 3."""
    peer_wrong = documented("Where a peer calls a safe file dangerous")
    stricter_listed = documented("Where modelseal is stricter than both")
    laxer, stricter = [], set()
    rows = []
    for rel, (verdict, kinds) in sorted(verdicts.items()):
        if not rel.startswith(PICKLE_FAMILY):
            continue
        path = FIXTURES / rel
        scan = picklescan_dangerous(path)
        fick = fickling_severity(path)
        peers_say_dangerous = scan or fick in FICKLING_DANGEROUS
        rows.append(f"  {rel:45} modelseal {verdict:11} picklescan {'infected' if scan else 'clean':8} fickling {fick}")
        if peers_say_dangerous and verdict == "ok" and rel not in peer_wrong:
            laxer.append(rel)
        if verdict == "unsafe" and not peers_say_dangerous:
            stricter.add(rel)
    print("\n".join(rows))
    if laxer:
        sys.exit("differential: modelseal calls safe what a peer calls dangerous: " + ", ".join(laxer))
    if stricter != stricter_listed:
        sys.exit(
            "differential: SPEC 18.5 lists where modelseal is stricter than both peers wrongly:\n"
            f"  stricter but not listed: {sorted(stricter - stricter_listed)}\n"
            f"  listed but not stricter: {sorted(stricter_listed - stricter)}"
        )
    print(f"differential: never laxer than picklescan or fickling on {len(rows)} pickle-family files; "
          f"{len(stricter)} stricter, each listed in SPEC 18.5; {len(peer_wrong)} peer error(s) listed")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as work:
        verdicts = fresh_corpus(sys.argv[1], pathlib.Path(work))
    against_peers(verdicts)


if __name__ == "__main__":
    main()
