"""modelseal.verify: the verdict, the report's fields, the errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import modelseal
from conftest import FIXTURES, KeyPair, keygen, run_cli, write_model

DEMO = FIXTURES / "demo-model"
TRUST = FIXTURES / "keys" / "trust.toml"
TEST_PUB = FIXTURES / "keys" / "test-release.pub"
TEST_KEYID = "a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109"


def test_demo_model_verifies_with_the_trust_policy() -> None:
    report = modelseal.verify(DEMO, trust=TRUST)
    assert report.ok is True
    assert report.format == "modelseal"
    assert (report.level_required, report.level_reached) == (1, 1)
    assert (report.model_name, report.model_version, report.model_kind) == (
        "acme/tiny-gpt",
        "1.0.0",
        "model",
    )
    assert report.files_checked == 4
    assert report.bytes_checked == 13705
    assert report.problems == []
    assert [(s.keyid, s.status, s.key_name) for s in report.signatures] == [
        (TEST_KEYID, "valid", "modelseal test key (TEST ONLY)")
    ]


def test_report_json_is_the_clis(signed_model: Path, keys: KeyPair) -> None:
    report = modelseal.verify(signed_model, key=keys.pub)
    cli = run_cli("verify", str(signed_model), "--key", str(keys.pub), "--format", "json")
    assert report.json == cli.stdout.strip()
    assert report.to_dict() == json.loads(cli.stdout)
    assert report.to_dict()["ok"] is True


def test_signed_model_report_fields(signed_model: Path, keys: KeyPair) -> None:
    report = modelseal.verify(str(signed_model), key=[keys.pub], level=1, jobs=1)
    assert report.ok
    assert report.path == str(signed_model)
    assert (report.model_name, report.model_version) == ("acme/tiny", "2.0.0")
    assert report.files_checked == 3
    assert report.bytes_checked == 256 * 400 + 37 + 19
    assert report.level_reached == 1
    assert len(report.signatures) == 1 and report.signatures[0].status == "valid"


def test_level_0_needs_no_policy(signed_model: Path) -> None:
    report = modelseal.verify(signed_model, level=0)
    assert report.ok and report.level_required == 0 and report.level_reached == 0
    assert report.signatures == []


def test_manifest_path_means_its_directory(signed_model: Path, keys: KeyPair) -> None:
    report = modelseal.verify(signed_model / "provenance.toml", key=keys.pub)
    assert report.ok and report.files_checked == 3


def test_flipped_byte_raises_verification_error(signed_model: Path, keys: KeyPair) -> None:
    weights = signed_model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[1000] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(modelseal.VerificationError) as caught:
        modelseal.verify(signed_model, key=keys.pub)
    err = caught.value
    assert isinstance(err, modelseal.ModelsealError)
    assert [(p.kind, p.path) for p in err.problems] == [("hash_mismatch", "model.safetensors")]
    assert "hash_mismatch" in str(err) and "model.safetensors" in str(err)
    assert err.report.ok is False
    assert err.report.level_reached is None
    assert err.report.problems == err.problems
    assert err.report.to_dict()["problems"][0]["kind"] == "hash_mismatch"


def test_check_false_returns_the_failed_report(signed_model: Path, keys: KeyPair) -> None:
    (signed_model / "extra.bin").write_bytes(b"not listed")
    report = modelseal.verify(signed_model, key=keys.pub, check=False)
    assert report.ok is False
    assert [(p.kind, p.path) for p in report.problems] == [("unexpected_file", "extra.bin")]


def test_another_key_is_not_trusted(signed_model: Path, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other")
    with pytest.raises(modelseal.VerificationError) as caught:
        modelseal.verify(signed_model, key=other.pub)
    kinds = {p.kind for p in caught.value.problems}
    assert "threshold_not_met" in kinds
    assert caught.value.report.level_reached is None


def test_level_above_1_without_policy_is_an_input_error(signed_model: Path) -> None:
    with pytest.raises(modelseal.ModelsealError) as caught:
        modelseal.verify(signed_model)
    assert not isinstance(caught.value, modelseal.VerificationError)
    assert "needs a trust policy" in str(caught.value)
    assert "key=" in str(caught.value)


@pytest.mark.parametrize("level", [4, -1, 300])
def test_bad_level_is_an_input_error(signed_model: Path, keys: KeyPair, level: int) -> None:
    with pytest.raises(modelseal.ModelsealError, match=f"level {level} does not exist"):
        modelseal.verify(signed_model, key=keys.pub, level=level)


def test_missing_manifest_is_an_input_error(tmp_path: Path, keys: KeyPair) -> None:
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(modelseal.ModelsealError, match="holds no provenance.toml") as caught:
        modelseal.verify(tmp_path, key=keys.pub)
    assert not isinstance(caught.value, modelseal.VerificationError)


def test_bad_key_file_is_an_input_error(signed_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    with pytest.raises(modelseal.ModelsealError, match="bad.pub") as caught:
        modelseal.verify(signed_model, key=bad)
    assert not isinstance(caught.value, modelseal.VerificationError)
    with pytest.raises(modelseal.ModelsealError, match="missing.pub"):
        modelseal.verify(signed_model, key=tmp_path / "missing.pub")


def test_bad_jobs_is_an_input_error(signed_model: Path, keys: KeyPair) -> None:
    with pytest.raises(modelseal.ModelsealError, match="jobs=0"):
        modelseal.verify(signed_model, key=keys.pub, jobs=0)


def test_several_keys_and_a_policy_join(signed_model: Path, keys: KeyPair, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other")
    report = modelseal.verify(signed_model, key=[other.pub, keys.pub])
    assert report.ok
    # trust.toml trusts only the fixtures' key; --key adds ours, as on the CLI.
    report = modelseal.verify(signed_model, trust=TRUST, key=keys.pub)
    assert report.ok


def test_oms_bundle_model_verifies() -> None:
    oms = FIXTURES / "oms-model"
    report = modelseal.verify(oms, key=FIXTURES / "keys" / "test-oms.pub")
    assert report.ok and report.format == "oms"
    assert report.files_checked > 0


def test_copy_of_demo_fails_after_edit(tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy)
    (copy / "config.json").write_text("{}\n")
    with pytest.raises(modelseal.VerificationError) as caught:
        modelseal.verify(copy, trust=TRUST)
    paths = {(p.kind, p.path) for p in caught.value.problems}
    assert ("size_mismatch", "config.json") in paths or ("hash_mismatch", "config.json") in paths


def test_inspect_fails_a_signed_malicious_pickle_at_its_level(tmp_path: Path, keys: KeyPair) -> None:
    model = tmp_path / "pickled"
    write_model(model)
    shutil.copy(FIXTURES / "inspect" / "pickle" / "os_system_reduce.pkl", model / "pytorch_model.bin")
    run_cli("init", str(model), "--name", "acme/pickled", "--version", "1.0.0", "-q")
    run_cli("sign", str(model), "--key", str(keys.key), "-q")
    # The bytes are the signed ones: without inspect it verifies.
    plain = modelseal.verify(model, key=keys.pub)
    assert plain.ok and plain.content is None
    with pytest.raises(modelseal.VerificationError) as raised:
        modelseal.verify(model, key=keys.pub, inspect=True)
    report = raised.value.report
    assert report.level_reached == 1 and report.problems == []
    assert report.content is not None and len(report.content) == 1
    assert report.content[0].kind == "unsafe_pickle"
    assert report.content[0].path == "pytorch_model.bin"
    assert "posix.system" in str(raised.value)
    assert report.to_dict()["content"][0]["kind"] == "unsafe_pickle"


def test_inspect_of_a_clean_model_says_it_looked(signed_model: Path, keys: KeyPair) -> None:
    report = modelseal.verify(signed_model, key=keys.pub, inspect=True)
    assert report.ok and report.content == []


def test_a_policy_allowance_pinned_by_digest_lets_a_reviewed_pickle_pass(tmp_path: Path, keys: KeyPair) -> None:
    model = tmp_path / "pickled"
    write_model(model)
    pickled = FIXTURES / "inspect" / "pickle" / "os_system_reduce.pkl"
    shutil.copy(pickled, model / "pytorch_model.bin")
    run_cli("init", str(model), "--name", "acme/pickled", "--version", "1.0.0", "-q")
    run_cli("sign", str(model), "--key", str(keys.key), "-q")
    digest = hashlib.sha256(pickled.read_bytes()).hexdigest()
    trust = tmp_path / "trust.toml"
    trust.write_text(
        "threshold = 1\n"
        f'[[key]]\nname = "release"\npublic_key = "{keys.pub}"\n'
        "[content]\ninspect = true\n"
        f'[[content.allow]]\nsha256 = "{digest}"\npath = "pytorch_model.bin"\nreason = "reviewed in SEC-1"\n'
    )
    # The policy asks for inspection: no inspect=True needed.
    report = modelseal.verify(model, trust=trust)
    assert report.ok
    assert report.content == [
        modelseal.ContentFinding(
            "unsafe_pickle", "pytorch_model.bin", report.content[0].message, "allowed", "reviewed in SEC-1"
        )
    ]
    # One byte more and the bytes are no longer the reviewed ones.
    with open(model / "pytorch_model.bin", "ab") as f:
        f.write(b"\n")
    run_cli("update", str(model), "-q")
    run_cli("sign", str(model), "--key", str(keys.key), "-q")
    with pytest.raises(modelseal.VerificationError) as raised:
        modelseal.verify(model, trust=trust)
    actions = {c.action for c in raised.value.report.content or []}
    assert actions == {"fail"}
