//! The imports a pickle may make: exactly what `torch.save`, numpy and
//! joblib need to rebuild tensors, arrays and state dicts. Everything else
//! is refused, whatever it is: the list says what is safe, never what is
//! dangerous.

/// Every allowed import, `module.name`, each with why it is safe.
const ALLOWED: &[&str] = &[
    // The container of every state dict; its reduce only rebuilds a dict.
    "collections.OrderedDict",
    // torch.save's tensor rebuilders (torch/_utils.py): each takes a
    // storage the loader made from the archive and views it; none calls
    // anything the pickle names. v2 is every tensor since torch 1.0, v3
    // tensors of dtypes without a typed storage, the original for old files.
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    // nn.Parameter around a rebuilt tensor (with and without extra state).
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    // Quantized, sparse, nested and storage-less (meta) tensors.
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    // Tensor subclasses: calls the function and type it is given, which
    // are themselves imports of this pickle, checked against this list.
    "torch._tensor._rebuild_from_type_v2",
    // Names a sparse layout (torch.sparse_coo, ...) by string.
    "torch.serialization._get_layout",
    // Tuple subclass and device name: plain values.
    "torch.Size",
    "torch.device",
    // Storage types in persistent ids ('storage', torch.FloatStorage, key,
    // location, numel): a type token for the dtype, never called by load.
    "torch.DoubleStorage",
    "torch.FloatStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.ComplexFloatStorage",
    "torch.ComplexDoubleStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    "torch.UntypedStorage",
    // dtype and qscheme constants (arguments of _rebuild_tensor_v3 and
    // _rebuild_qtensor): attributes, not callables that act.
    "torch.float64",
    "torch.float32",
    "torch.float16",
    "torch.bfloat16",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2",
    "torch.int64",
    "torch.int32",
    "torch.int16",
    "torch.int8",
    "torch.uint8",
    "torch.uint16",
    "torch.uint32",
    "torch.uint64",
    "torch.bool",
    "torch.complex64",
    "torch.complex128",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
    // ndarray's reduce: an empty array of a dtype, then BUILD fills it from
    // bytes in the pickle (numpy 1 and numpy 2 module paths).
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    // Protocol 5 arrays: a view of a buffer in the pickle, reshaped.
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    // numpy scalars (np.float32(1.0) pickled): a dtype and its bytes.
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    // The classes _reconstruct is given, and dtypes: a type string and flags.
    "numpy.ndarray",
    "numpy.dtype",
    // joblib's placeholder for an array whose raw bytes follow the pickle.
    "joblib.numpy_pickle.NumpyArrayWrapper",
    // Protocols 0 to 2 have no opcodes for these types and call them.
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.slice",
    "builtins.complex",
    "builtins.range",
    // Protocols 0 to 2 write bytes as _codecs.encode(text, 'latin1').
    "_codecs.encode",
];

/// Whether a pickle may import `name` (`module.name`). Python 2 module
/// names that protocols 0 to 2 still write (`__builtin__`) are taken as
/// their Python 3 ones, as the unpickler does; other Python 2 names are
/// not mapped, so they stay refused.
pub fn is_allowed(name: &str) -> bool {
    let name = match name.strip_prefix("__builtin__.") {
        Some(rest) => return ALLOWED.contains(&format!("builtins.{rest}").as_str()),
        None => name,
    };
    ALLOWED.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_runners_are_refused_and_tensor_rebuilders_allowed() {
        for bad in [
            "builtins.eval",
            "builtins.exec",
            "builtins.getattr",
            "__builtin__.eval",
            "os.system",
            "posix.system",
            "nt.system",
            "subprocess.Popen",
            "runpy._run_code",
            "webbrowser.open",
            "pip.main",
            "torch.storage._load_from_bytes",
            "torch.load",
            "numpy.load",
            "collections.OrderedDict.fromkeys",
            "torch._utils._rebuild_tensor_v2 ",
            "",
        ] {
            assert!(!is_allowed(bad), "{bad} must be refused");
        }
        for good in [
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
            "numpy.core.multiarray._reconstruct",
            "__builtin__.set",
            "_codecs.encode",
        ] {
            assert!(is_allowed(good), "{good} must be allowed");
        }
    }
}
