#!/usr/bin/env python3
"""Writes the structural-inspection corpus (safetensors, GGUF, ONNX) into the
directory given as argv[1], in safetensors/, gguf/ and onnx/.

Benign files are made by the real libraries (safetensors.numpy, gguf's
GGUFWriter, onnx.save_model); malformed and malicious ones are the same
files edited, or bytes laid out per each format's spec where the library
refuses to write them. Each malformed safetensors file is also offered to
safetensors itself, and the script says whether it refused it.

    python3 -m pip install --quiet safetensors numpy gguf onnx jinja2
    python3 tests/inspect/make_structural_corpus.py fixtures/inspect
"""

import json
import os
import struct
import sys

import numpy as np

OUT = sys.argv[1]

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# The proof of concept published with CVE-2024-34359.
CVE_2024_34359_TEMPLATE = (
    "{% for x in ().__class__.__base__.__subclasses__() %}"
    "{% if \"warning\" in x.__name__ %}"
    "{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}"
    "{%endif%}{% endfor %}"
)


def path(kind, name):
    os.makedirs(os.path.join(OUT, kind), exist_ok=True)
    return os.path.join(OUT, kind, name)


# --- safetensors -----------------------------------------------------------


def raw_safetensors(name, header, data_len, header_len=None):
    """A safetensors file laid out by hand: length, JSON header, data."""
    text = header if isinstance(header, bytes) else header.encode()
    size = len(text) if header_len is None else header_len
    with open(path("safetensors", name), "wb") as f:
        f.write(struct.pack("<Q", size) + text + b"\0" * data_len)
    refused = safetensors_refuses(path("safetensors", name))
    print(f"safetensors/{name}: safetensors {'refuses' if refused else 'ACCEPTS'} it")


def safetensors_refuses(file):
    from safetensors import safe_open

    try:
        with safe_open(file, "np") as f:
            for key in f.keys():
                f.get_tensor(key)
        return False
    except Exception:
        return True


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def make_safetensors():
    from safetensors.numpy import save_file

    save_file(
        {
            "embed.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
            "norm.weight": np.ones(4, dtype=np.float16),
            "position_ids": np.arange(4, dtype=np.int64),
            "mask": np.array([True, False, True]),
            "codes": np.arange(5, dtype=np.uint8),
        },
        path("safetensors", "benign_several_dtypes.safetensors"),
        metadata={"format": "np", "source": "make_structural_corpus.py"},
    )
    two = lambda a, b: json.dumps({"a": tensor("U8", [4], *a), "b": tensor("U8", [4], *b)})
    raw_safetensors("overlapping_offsets.safetensors", two((0, 4), (2, 6)), 6)
    raw_safetensors("gap_between_tensors.safetensors", two((0, 4), (8, 12)), 12)
    raw_safetensors(
        "end_past_file.safetensors", json.dumps({"a": tensor("F32", [1024], 0, 4096)}), 16
    )
    raw_safetensors(
        "shape_dtype_mismatch.safetensors", json.dumps({"a": tensor("F32", [3, 3], 0, 16)}), 16
    )
    # Two entries named "a": a JSON object keeps only one when parsed.
    duplicate = (
        '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
        '"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}'
    )
    raw_safetensors("duplicate_tensor_names.safetensors", duplicate, 8)
    raw_safetensors("header_length_huge.safetensors", "{}", 0, header_len=2**63)
    raw_safetensors("header_not_json.safetensors", "{this is not json}", 0)


# --- GGUF --------------------------------------------------------------------


def make_gguf():
    import gguf

    def writer(name):
        w = gguf.GGUFWriter(path("gguf", name), arch="llama")
        w.add_name("tiny structural fixture")
        w.add_context_length(128)
        w.add_uint32("llama.block_count", 1)
        w.add_float32("llama.rope.freq_base", 10000.0)
        w.add_bool("tokenizer.ggml.add_bos_token", True)
        w.add_token_list(["<s>", "</s>", "hello", "world"])
        w.add_array("test.nested", [[1, 2], [3]])
        return w

    def finish(w):
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    w = writer("benign_llama3_template.gguf")
    w.add_chat_template(LLAMA3_TEMPLATE)
    w.add_tensor("token_embd.weight", np.arange(32, dtype=np.float32).reshape(4, 8))
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float16))
    q8 = gguf.quants.quantize(np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32),
                              gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q8, raw_shape=q8.shape,
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    finish(w)

    w = writer("template_cve_2024_34359.gguf")
    w.add_chat_template(CVE_2024_34359_TEMPLATE)
    w.add_tensor("token_embd.weight", np.zeros(8, dtype=np.float32))
    finish(w)

    for name, edit in [
        ("misaligned_tensor_offset.gguf", lambda off: off + 4),
        ("tensor_past_end.gguf", lambda off: off + 4096),
    ]:
        gguf_with_offset(name, edit)
    huge_counts()


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_by_hand(tensors, data_len, counts=None):
    """A GGUF v3 laid out by hand: one metadata item, tensor infos
    (name, dims, type, offset), padding to 32, data."""
    out = b"GGUF" + struct.pack("<I", 3)
    n_tensors, n_kv = counts or (len(tensors), 1)
    out += struct.pack("<QQ", n_tensors, n_kv)
    out += gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama")
    for name, dims, ggml_type, offset in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, offset)
    out += b"\0" * (-len(out) % 32)
    return out + b"\0" * data_len


def gguf_with_offset(name, edit):
    # Two F32 tensors of 8 elements (32 bytes each); the second's offset edited.
    tensors = [("a.weight", [8], 0, 0), ("b.weight", [8], 0, edit(32))]
    with open(path("gguf", name), "wb") as f:
        # Data for both at the offsets given, rounded up to 32.
        f.write(gguf_by_hand(tensors, 64 if edit(32) > 64 else 96))


def huge_counts():
    with open(path("gguf", "huge_counts.gguf"), "wb") as f:
        f.write(gguf_by_hand([], 0, counts=(2**40, 2**40)))


# --- ONNX --------------------------------------------------------------------


def onnx_model():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(8, 8), "weight")
    node = helper.make_node("MatMul", ["x", "weight"], ["y"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
        [weight],
    )
    model = helper.make_model(graph, producer_name="make_structural_corpus")
    onnx.checker.check_model(model)
    return model


def make_onnx():
    import onnx

    onnx.save_model(onnx_model(), path("onnx", "inline_weights.onnx"))
    benign = path("onnx", "external_data_benign.onnx")
    onnx.save_model(
        onnx_model(),
        benign,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="external_data_benign.onnx.data",
        size_threshold=0,
    )
    for name, location in [
        ("external_data_parent_escape.onnx", "../../etc/passwd"),
        ("external_data_absolute.onnx", "/etc/passwd"),
    ]:
        model = onnx.load(benign, load_external_data=False)
        for entry in model.graph.initializer[0].external_data:
            if entry.key == "location":
                entry.value = location
        with open(path("onnx", name), "wb") as f:
            f.write(model.SerializeToString())


if __name__ == "__main__":
    make_safetensors()
    make_gguf()
    make_onnx()
