//! The Hugging Face model card: the YAML front matter of `README.md`.
//!
//! Only the keys `init` uses are read (`license`, `datasets`, `base_model`),
//! with a deliberately small reader: top-level `key: value` lines, block
//! lists (`- item`) and flow lists (`[a, b]`). Anything else (anchors, nested
//! maps, multi-line strings) is skipped, never expanded, so a hostile card
//! cannot make it allocate or loop without bound.

/// What a model card says about the model's provenance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelCard {
    /// `license`.
    pub license: Option<String>,
    /// `datasets`: Hub dataset ids such as `roneneldan/TinyStories`.
    pub datasets: Vec<String>,
    /// `base_model`: Hub model ids.
    pub base_models: Vec<String>,
}

/// Largest front matter read, in bytes.
const MAX_FRONT_MATTER: usize = 64 * 1024;

/// Reads the front matter of a model card, if it has one.
pub fn parse(readme: &str) -> Option<ModelCard> {
    let rest = readme.strip_prefix('\u{feff}').unwrap_or(readme);
    let rest = rest.strip_prefix("---")?;
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let mut lines = Vec::new();
    let mut size = 0;
    let mut closed = false;
    for line in rest.lines() {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            closed = true;
            break;
        }
        size += line.len();
        if size > MAX_FRONT_MATTER {
            return None;
        }
        lines.push(line);
    }
    if !closed {
        return None;
    }
    let mut card = ModelCard::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with([' ', '\t', '-', '#']) || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = strip_comment(value).trim();
        let mut values = Vec::new();
        if value.is_empty() {
            // A block list follows: indented (or not) `- item` lines.
            while i < lines.len() {
                let item = lines[i].trim_start();
                if let Some(item) = item
                    .strip_prefix("- ")
                    .or_else(|| (item == "-").then_some(""))
                {
                    values.push(scalar(item));
                    i += 1;
                } else if lines[i].trim().is_empty() {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            values.extend(inner.split(',').map(scalar));
        } else {
            values.push(scalar(value));
        }
        values.retain(|v| !v.is_empty());
        match key.trim() {
            "license" => card.license = values.into_iter().next(),
            "datasets" => card.datasets = values,
            "base_model" => card.base_models = values,
            _ => {}
        }
    }
    Some(card)
}

fn strip_comment(value: &str) -> &str {
    // A `#` starts a comment only after whitespace, outside quotes (good enough for ids).
    let trimmed = value.trim_start();
    if let Some(quote) = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'') {
        // Keep the quoted scalar, drop whatever follows its closing quote.
        return match trimmed[1..].find(quote) {
            Some(end) => &trimmed[..end + 2],
            None => trimmed,
        };
    }
    match value.find(" #") {
        Some(i) => &value[..i],
        None => value,
    }
}

fn scalar(raw: &str) -> String {
    let v = strip_comment(raw).trim();
    let unquoted = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    // Ids are short; anything with control characters is not one.
    if unquoted.len() > 256 || unquoted.chars().any(char::is_control) {
        return String::new();
    }
    unquoted.to_string()
}

/// A manifest id from a Hub id: `roneneldan/TinyStories` -> `tinystories`.
pub fn dataset_id(hub_id: &str) -> String {
    let last = hub_id.rsplit('/').next().unwrap_or(hub_id);
    let id: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-').to_string();
    if id.is_empty() { "dataset".into() } else { id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_block_and_flow_lists_and_scalars() {
        let card = parse(
            "---\nlicense: apache-2.0 # spdx\ndatasets:\n- roneneldan/TinyStories\n  - \"HuggingFaceFW/fineweb\"\n\
             base_model: ['acme/base']\ntags:\n- x\n---\n# Title\n",
        )
        .unwrap();
        assert_eq!(card.license.as_deref(), Some("apache-2.0"));
        assert_eq!(
            card.datasets,
            vec!["roneneldan/TinyStories", "HuggingFaceFW/fineweb"]
        );
        assert_eq!(card.base_models, vec!["acme/base"]);
        let card = parse("---\nlicense: 'mit' # spdx\n---\n").unwrap();
        assert_eq!(card.license.as_deref(), Some("mit"));
    }

    #[test]
    fn no_front_matter_or_unclosed_front_matter_is_none() {
        assert_eq!(parse("# Title\n"), None);
        assert_eq!(parse("---\nlicense: mit\n"), None);
    }

    #[test]
    fn dataset_ids_are_short_and_safe() {
        assert_eq!(dataset_id("roneneldan/TinyStories"), "tinystories");
        assert_eq!(dataset_id("a/b c"), "b-c");
        assert_eq!(dataset_id("///"), "dataset");
    }
}
