#!/usr/bin/env python3
"""Writes the pickle-family inspection corpus into the directory argv[1]:
pickle/, torch/, numpy/, keras/, each file named after what it is.

Needs numpy and joblib (pip install numpy joblib). torch and keras are too
big to install here: their files are built with zipfile exactly as
torch.save and keras 3 lay them out, their pickles with stand-in modules
named as torch's are, so the opcodes are the ones torch writes.

Every file is inert bytes: the malicious ones are never loaded here.
The committed copy of the corpus is fixtures/inspect/.
"""

import collections
import io
import json
import os
import pickle
import runpy
import struct
import subprocess
import sys
import types
import webbrowser
import zipfile

import joblib
import numpy as np


class Reduce:
    """Pickles as a call of `func` with `args`: what a malicious file does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def zput(z, name, data):
    """An entry with a fixed date, so that the corpus is the same each run."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = z.compression
    z.writestr(info, data)


def sstr(s):
    """SHORT_BINUNICODE."""
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def benign_pickles(root):
    od = collections.OrderedDict([("w", [1.0, 2.0]), ("b", 3)])
    obj = {"ints": [1, 2, 3], "text": "hi", "set": {1, 2}, "bytes": b"ab",
           "nested": (1, (2, None)), "od": od}
    for proto in range(6):
        write(root, f"pickle/benign_protocol{proto}.pkl", pickle.dumps(obj, protocol=proto))
    for proto in (2, 4, 5):
        arr = np.arange(6, dtype=np.float32).reshape(2, 3)
        write(root, f"pickle/numpy_array_protocol{proto}.pkl", pickle.dumps(arr, protocol=proto))
    write(root, "pickle/numpy_scalar.pkl", pickle.dumps(np.float64(1.5), protocol=2))


def malicious_pickles(root):
    write(root, "pickle/os_system_reduce.pkl", pickle.dumps(Reduce(os.system, "echo pwned")))
    write(root, "pickle/os_system_protocol0.pkl",
          pickle.dumps(Reduce(os.system, "echo pwned"), protocol=0))
    write(root, "pickle/builtins_eval.pkl", pickle.dumps(Reduce(eval, "1+1")))
    write(root, "pickle/builtins_exec.pkl", pickle.dumps(Reduce(exec, "x=1")))
    write(root, "pickle/runpy_run_code.pkl", pickle.dumps(Reduce(runpy._run_code, "x=1", {})))
    write(root, "pickle/subprocess_popen.pkl", pickle.dumps(Reduce(subprocess.Popen, ["ls"])))
    write(root, "pickle/webbrowser_open.pkl",
          pickle.dumps(Reduce(webbrowser.open, "http://example.invalid")))
    # pip.main, as GLOBAL: pip may not be importable where this runs.
    write(root, "pickle/pip_main.pkl",
          b"\x80\x02cpip\nmain\n]q\x00X\x07\x00\x00\x00installq\x01a\x85R.")
    # getattr(__import__('os'), 'system')('ls'), with STACK_GLOBAL.
    sg = lambda m, n: sstr(m) + sstr(n) + b"\x93"
    getattr_chain = (b"\x80\x04" + sg("builtins", "getattr")
                     + sg("builtins", "__import__") + sstr("os") + b"\x85R"
                     + sstr("system") + b"\x86R" + sstr("ls") + b"\x85R.")
    write(root, "pickle/getattr_chain.pkl", getattr_chain)
    # Module and name memoised, fetched with BINGET for STACK_GLOBAL, whose
    # result is memoised in turn and fetched again for the call.
    nested = (b"\x80\x04" + sstr("o" + "s") + b"\x94" + sstr("system") + b"\x94" + b"0"
              + b"h\x00h\x01\x93\x94" + b"0" + b"h\x02" + sstr("ls") + b"\x85R.")
    write(root, "pickle/nested_stack_global_memo.pkl", nested)
    # STACK_GLOBAL whose module is a bytes object: nothing a reader can name.
    write(root, "pickle/unresolvable_stack_global.pkl",
          b"\x80\x04C\x02os" + sstr("system") + b"\x93" + sstr("ls") + b"\x85R.")
    write(root, "pickle/truncated.pkl", pickle.dumps(list(range(50)))[:-10])


def joblib_files(root):
    buf = io.BytesIO()
    joblib.dump({"weights": np.arange(12, dtype=np.float64).reshape(3, 4),
                 "labels": np.array([1, 2, 3], dtype=np.int8), "name": "model"}, buf)
    write(root, "pickle/joblib_arrays.joblib", buf.getvalue())
    buf = io.BytesIO()
    joblib.dump({"objects": np.array(["a", 1, None], dtype=object)}, buf)
    write(root, "pickle/joblib_object_array.joblib", buf.getvalue())
    buf = io.BytesIO()
    joblib.dump({"x": np.arange(3.0), "evil": Reduce(os.system, "echo pwned")}, buf)
    write(root, "pickle/joblib_os_system.joblib", buf.getvalue())


def fake_torch():
    """Stand-in torch modules: the names torch.save pickles, nothing more."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage = FloatStorage
    torch._utils = utils
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    return torch


class Storage:
    def __init__(self, key, numel, data):
        self.key, self.numel, self.data = key, numel, data


class Tensor:
    def __init__(self, storage, size, stride):
        self.storage, self.size, self.stride = storage, size, stride

    def __reduce_ex__(self, proto):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (self.storage, 0, self.size, self.stride, False,
                         collections.OrderedDict())


class TorchPickler(pickle.Pickler):
    """torch.save's persistent ids: ('storage', type, key, location, numel)."""

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", sys.modules["torch"].FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_zip(state, storages):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        zput(z, "archive/data.pkl", buf.getvalue())
        zput(z, "archive/byteorder", "little")
        for s in storages:
            zput(z, f"archive/data/{s.key}", s.data)
        zput(z, "archive/version", "3\n")
        zput(z, "archive/.data/serialization_id", "1234567890")
    return out.getvalue()


def torch_files(root):
    fake_torch()
    w = Storage("0", 4, struct.pack("<4f", 1, 2, 3, 4))
    b = Storage("1", 2, struct.pack("<2f", 0, 0))
    state = collections.OrderedDict([("fc.weight", Tensor(w, (2, 2), (2, 1))),
                                     ("fc.bias", Tensor(b, (2,), (1,)))])
    state._metadata = collections.OrderedDict([("", {"version": 1}), ("fc", {"version": 1})])
    write(root, "torch/state_dict.pt", torch_zip(state, [w, b]))
    poisoned = collections.OrderedDict([("fc.weight", Tensor(w, (2, 2), (2, 1))),
                                        ("evil", Reduce(os.system, "echo pwned"))])
    write(root, "torch/poisoned_data_pkl.pt", torch_zip(poisoned, [w]))


def numpy_files(root):
    def npy(arr, allow_pickle=False):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=allow_pickle)
        return buf.getvalue()

    write(root, "numpy/float32_2x3.npy", npy(np.arange(6, dtype=np.float32).reshape(2, 3)))
    write(root, "numpy/structured.npy",
          npy(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8", (2,))])))
    write(root, "numpy/unicode.npy", npy(np.array(["ab", "cde"])))
    write(root, "numpy/object_benign.npy", npy(np.array([1, "a"], dtype=object), True))
    write(root, "numpy/object_os_system.npy",
          npy(np.array([Reduce(os.system, "echo pwned")], dtype=object), True))
    truncated = npy(np.arange(8, dtype=np.int64))[:-8]
    write(root, "numpy/truncated_data.npy", truncated)
    for name, save in (("arrays.npz", np.savez), ("arrays_compressed.npz", np.savez_compressed)):
        buf = io.BytesIO()
        save(buf, a=np.arange(4, dtype=np.int16), b=np.ones((2, 2)))
        write(root, "numpy/" + name, buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, ok=np.arange(2), evil=np.array([Reduce(os.system, "echo pwned")], dtype=object))
    write(root, "numpy/object_os_system.npz", buf.getvalue())
    buf = io.BytesIO()
    np.savez_compressed(buf, evil=np.array([Reduce(os.system, "echo pwned")], dtype=object))
    write(root, "numpy/object_os_system_compressed.npz", buf.getvalue())


def keras_layer(class_name, name, **config):
    return {"module": "keras.layers", "class_name": class_name,
            "config": {"name": name, "trainable": True, "dtype": "float32", **config},
            "registered_name": None}


def keras_zip(layers, compression=zipfile.ZIP_STORED):
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "sequential", "trainable": True, "dtype": "float32",
                         "layers": [keras_layer("InputLayer", "input_layer",
                                                batch_shape=[None, 4])] + layers},
              "registered_name": None, "build_config": {"input_shape": [None, 4]},
              "compile_config": None}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        zput(z, "metadata.json", json.dumps({"keras_version": "3.6.0",
                                                "date_saved": "2026-01-01@00:00:00"}))
        zput(z, "config.json", json.dumps(config))
        zput(z, "model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(56))
    return out.getvalue()


def keras_files(root):
    dense = keras_layer("Dense", "dense", units=2, activation="relu")
    # Keras 3 stores a Lambda's function as marshalled bytecode, base64.
    lam = keras_layer("Lambda", "evil_lambda", arguments={},
                      function={"class_name": "__lambda__",
                                "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA",
                                           "defaults": None, "closure": None}})
    wrapped = keras_layer("TimeDistributed", "td", layer=keras_layer(
        "Lambda", "wrapped_lambda", arguments={}, function="lambda x: x"))
    write(root, "keras/dense.keras", keras_zip([dense]))
    write(root, "keras/lambda.keras", keras_zip([dense, lam]))
    write(root, "keras/time_distributed_lambda.keras", keras_zip([wrapped]))
    write(root, "keras/lambda_deflated.keras", keras_zip([lam], zipfile.ZIP_DEFLATED))


def main():
    root = sys.argv[1]
    benign_pickles(root)
    malicious_pickles(root)
    joblib_files(root)
    torch_files(root)
    numpy_files(root)
    keras_files(root)


if __name__ == "__main__":
    main()
