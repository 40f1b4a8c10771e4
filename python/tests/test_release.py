"""init, update and sign from Python: a round trip the CLI and verify agree on."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest

import modelseal
from conftest import FIXTURES, KeyPair, cli_path, keygen, run_cli, write_model


def test_init_sign_verify_round_trip(tmp_path: Path, keys: KeyPair) -> None:
    model = tmp_path / "m"
    names = write_model(model)
    made = modelseal.init(model, name="acme/m", version="1.2.3")
    assert made.manifest == str(model / "provenance.toml")
    assert (made.name, made.version, made.kind, made.files) == ("acme/m", "1.2.3", "model", len(names))
    assert made.bytes == sum((model / n).stat().st_size for n in names)
    assert made.large_form is False
    # No training run is recorded: level 2 is not there yet, and init says why.
    assert any(p.kind == "untraced_weights" for p in made.missing_for_level_2)

    signed = modelseal.sign(model, keys.key, signer="release-bot")
    assert signed.total == 1 and signed.replaced is False and signed.dropped == []
    assert len(signed.keyid) == 64

    report = modelseal.verify(model, key=keys.pub)
    assert report.ok and report.model_version == "1.2.3"
    assert report.signatures[0].keyid == signed.keyid
    assert report.signatures[0].signer == "release-bot"
    # The CLI agrees.
    assert run_cli("verify", str(model), "--key", str(keys.pub)).returncode == 0


def test_init_defaults_and_refuses_to_overwrite(tmp_path: Path) -> None:
    model = tmp_path / "plain"
    write_model(model)
    made = modelseal.init(model)
    assert (made.name, made.version) == ("plain", "0.1.0")
    with pytest.raises(modelseal.ModelsealError, match="already exists"):
        modelseal.init(model)
    again = modelseal.init(model, version="0.2.0", force=True)
    assert again.version == "0.2.0"
    with pytest.raises(modelseal.ModelsealError, match="kind="):
        modelseal.init(model, kind="weights", force=True)


def test_dataset_kind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"text": "hi"}\n')
    made = modelseal.init(data, kind="dataset")
    assert made.kind == "dataset"
    assert modelseal.verify(data, level=0).model_kind == "dataset"


def test_update_then_sign_again(signed_model: Path, keys: KeyPair) -> None:
    (signed_model / "config.json").write_text('{"model_type": "gpt2", "n_layer": 4}\n')
    (signed_model / "generation_config.json").write_text("{}\n")
    (signed_model / "tokenizer.json").unlink()
    # Signing refuses a directory that does not match its manifest, naming why.
    with pytest.raises(modelseal.ModelsealError, match="does not match") as caught:
        modelseal.sign(signed_model, keys.key)
    assert "config.json" in str(caught.value)

    changes = modelseal.update(signed_model)
    assert changes.added == ["generation_config.json"]
    assert changes.changed == ["config.json"]
    assert changes.removed == ["tokenizer.json"]
    assert changes.unchanged == 1 and changes.written is True
    assert changes.counts == (1, 1, 1)
    # The old signature no longer covers the manifest.
    with pytest.raises(modelseal.VerificationError) as failed:
        modelseal.verify(signed_model, key=keys.pub)
    assert {p.kind for p in failed.value.problems} == {"bad_signature", "threshold_not_met"}

    again = modelseal.sign(signed_model, keys.key)
    assert again.total == 1
    assert again.replaced or again.dropped
    assert modelseal.verify(signed_model, key=keys.pub).ok
    assert modelseal.update(signed_model).written is False


def test_sign_with_an_encrypted_key(tmp_path: Path) -> None:
    prefix = tmp_path / "enc"
    env = dict(os.environ, MODELSEAL_PASSPHRASE="correct horse")
    subprocess.run(
        [str(cli_path()), "keygen", "--out", str(prefix), "-q"], env=env, check=True, timeout=60
    )
    key, pub = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    model = tmp_path / "m"
    write_model(model)
    modelseal.init(model)
    os.environ.pop("MODELSEAL_PASSPHRASE", None)
    with pytest.raises(modelseal.ModelsealError, match="passphrase="):
        modelseal.sign(model, key)
    with pytest.raises(modelseal.ModelsealError, match="passphrase"):
        modelseal.sign(model, key, passphrase="wrong")
    modelseal.sign(model, key, passphrase="correct horse")
    assert modelseal.verify(model, key=pub).ok


def test_sign_with_trust_refuses_an_unlisted_key(signed_model: Path, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other")
    trust = tmp_path / "trust.toml"
    trust.write_text(f'threshold = 1\n\n[[key]]\nname = "release"\npublic_key = "{other.pub}"\n')
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(modelseal.ModelsealError, match="nothing was signed"):
        modelseal.sign(signed_model, stranger.key, trust=trust)
    modelseal.sign(signed_model, other.key, trust=trust)
    assert modelseal.verify(signed_model, trust=trust).ok


def test_sign_warns_about_a_key_others_can_read(tmp_path: Path) -> None:
    pair = keygen(tmp_path / "loose")
    pair.key.chmod(0o644)
    model = tmp_path / "m"
    write_model(model)
    modelseal.init(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = modelseal.sign(model, pair.key)
    assert result.warnings
    assert any(issubclass(w.category, UserWarning) and "modelseal" in str(w.message) for w in caught)


def test_init_warns_of_an_unsafe_pickle_and_still_lists_it(tmp_path: Path) -> None:
    model = tmp_path / "pickled"
    write_model(model)
    (model / "pytorch_model.bin").write_bytes((FIXTURES / "inspect" / "pickle" / "os_system_reduce.pkl").read_bytes())
    with pytest.warns(UserWarning, match="unsafe_pickle pytorch_model.bin"):
        made = modelseal.init(model, name="acme/pickled", version="1.0.0")
    assert [(c.kind, c.path, c.action) for c in made.content] == [("unsafe_pickle", "pytorch_model.bin", "fail")]
    assert "pytorch_model.bin" in (model / "provenance.toml").read_text()
