//! The few values the walker models: enough to resolve `STACK_GLOBAL`
//! operands and to read a joblib array wrapper's shape and dtype. Anything
//! else is [`Value::Unknown`].
//!
//! Containers hold only frozen values (no dicts) and nest at most
//! [`MAX_DEPTH`] deep, so there are no cycles and dropping a value never
//! recurses far, whatever the pickle builds.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Deepest nesting of tuples and objects modelled.
const MAX_DEPTH: u8 = 16;
/// Longest tuple modelled.
const MAX_TUPLE: usize = 64;
/// Most string-keyed entries modelled in one dict.
const MAX_DICT: usize = 64;

/// A modelled dict's string-keyed entries, in insertion order, until it
/// has more keys than modelled: then it is saturated, and its entries no
/// longer answer lookups (a key set later might be missing from them).
#[derive(Default)]
pub(super) struct Entries {
    items: Vec<(Rc<str>, Value)>,
    saturated: bool,
}

/// One modelled value on the stack or in the memo.
#[derive(Clone)]
pub(super) enum Value {
    /// Anything not modelled.
    Unknown,
    /// `None`.
    None,
    /// An integer (bools too) that fits an `i64`.
    Int(i64),
    /// A short string.
    Str(Rc<str>),
    /// What `GLOBAL`/`STACK_GLOBAL`/`INST` resolved: `module.name`.
    Global(Rc<str>),
    /// A tuple of frozen values.
    Tuple(Rc<Tuple>),
    /// A dict's string-keyed entries.
    Dict(Rc<RefCell<Entries>>),
    /// The result of calling a resolved global.
    Object(Rc<Object>),
}

/// A modelled tuple and how deep it nests.
pub(super) struct Tuple {
    /// The items.
    pub(super) items: Vec<Value>,
    depth: u8,
}

/// A call of a resolved global, with what `BUILD` told of a `numpy.dtype`.
pub(super) struct Object {
    /// The class or function called, `module.name`.
    pub(super) class: Rc<str>,
    /// The call's arguments, frozen.
    pub(super) args: Value,
    /// A dtype's item size in bytes, once known.
    pub(super) itemsize: Cell<Option<u64>>,
    /// Whether a dtype holds Python objects (its data is a pickle).
    pub(super) has_object: Cell<bool>,
    depth: u8,
}

impl Value {
    /// How deep the value nests.
    fn depth(&self) -> u8 {
        match self {
            Value::Tuple(t) => t.depth,
            Value::Object(o) => o.depth,
            _ => 0,
        }
    }

    /// The value as it may sit inside a container: dicts (mutable) are not
    /// modelled there.
    fn frozen(self) -> Value {
        match self {
            Value::Dict(_) => Value::Unknown,
            other => other,
        }
    }

    /// A tuple of `items`, or `Unknown` past the modelled size or depth.
    pub(super) fn tuple(items: Vec<Value>) -> Value {
        if items.len() > MAX_TUPLE {
            return Value::Unknown;
        }
        let items: Vec<Value> = items.into_iter().map(Value::frozen).collect();
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        Value::Tuple(Rc::new(Tuple { items, depth }))
    }

    /// What calling `callable` with `args` gives: an object when the
    /// callable is a resolved global.
    pub(super) fn call(callable: &Value, args: Value) -> Value {
        let Value::Global(class) = callable else {
            return Value::Unknown;
        };
        let mut args = args.frozen();
        if args.depth() >= MAX_DEPTH {
            args = Value::Unknown;
        }
        Value::Object(Rc::new(Object {
            class: class.clone(),
            depth: 1 + args.depth(),
            args,
            itemsize: Cell::new(None),
            has_object: Cell::new(false),
        }))
    }

    /// A dict of the string-keyed pairs in `items` (key, value, key, ...).
    pub(super) fn dict(items: Vec<Value>) -> Value {
        let dict = Value::Dict(Rc::new(RefCell::new(Entries::default())));
        let mut items = items.into_iter();
        while let (Some(k), Some(v)) = (items.next(), items.next()) {
            dict.set_item(k, v);
        }
        dict
    }

    /// `self[key] = value` when `self` is a modelled dict and `key` a string.
    pub(super) fn set_item(&self, key: Value, value: Value) {
        let (Value::Dict(entries), Value::Str(key)) = (self, key) else {
            return;
        };
        let mut entries = entries.borrow_mut();
        if entries.saturated {
            return;
        }
        let value = value.frozen();
        if let Some(slot) = entries.items.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else if entries.items.len() < MAX_DICT {
            entries.items.push((key, value));
        } else {
            entries.saturated = true;
            entries.items = Vec::new();
        }
    }

    /// `self[key]` of a modelled dict.
    pub(super) fn get(&self, key: &str) -> Option<Value> {
        let Value::Dict(entries) = self else {
            return None;
        };
        let entries = entries.borrow();
        entries
            .items
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.clone())
    }

    /// The string, if this is one.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub(super) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The tuple's items, if this is one.
    pub(super) fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(t) => Some(&t.items),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_past_the_depth_is_unknown() {
        let mut v = Value::Int(1);
        for _ in 0..MAX_DEPTH {
            v = Value::tuple(vec![v]);
            assert!(v.as_tuple().is_some());
        }
        assert!(matches!(Value::tuple(vec![v]), Value::Unknown));
        assert!(matches!(
            Value::tuple(vec![Value::None; MAX_TUPLE + 1]),
            Value::Unknown
        ));
    }

    #[test]
    fn a_dict_with_more_keys_than_modelled_answers_no_lookup() {
        let d = Value::dict(vec![Value::Str("shape".into()), Value::Int(1)]);
        for i in 0..MAX_DICT {
            d.set_item(Value::Str(format!("k{i}").into()), Value::None);
        }
        assert!(d.get("shape").is_none());
        d.set_item(Value::Str("shape".into()), Value::Int(2));
        assert!(d.get("shape").is_none());
    }

    #[test]
    fn dicts_inside_containers_are_not_modelled() {
        let d = Value::dict(vec![Value::Str("k".into()), Value::Int(3)]);
        assert_eq!(d.get("k").and_then(|v| v.as_int()), Some(3));
        let t = Value::tuple(vec![d]);
        assert!(matches!(t.as_tuple(), Some([Value::Unknown])));
    }
}
