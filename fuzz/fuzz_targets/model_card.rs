//! `card::parse` on arbitrary text: never panics, and every value it returns
//! is a short id without control characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelseal::card;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Some(card) = card::parse(&text) else {
        return;
    };
    for value in card
        .license
        .iter()
        .chain(&card.datasets)
        .chain(&card.base_models)
    {
        assert!(!value.is_empty());
        assert!(value.len() <= 256);
        assert!(!value.chars().any(char::is_control));
    }
    for id in &card.datasets {
        let id = card::dataset_id(id);
        assert!(!id.is_empty());
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
});
