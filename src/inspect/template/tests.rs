use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inspect/gguf/templates"
);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

fn messages(template: &str) -> Vec<String> {
    check("tokenizer.chat_template", template)
        .into_iter()
        .map(|p| {
            assert_eq!(p.kind, ContentProblemKind::UnsafeGgufTemplate);
            p.message
        })
        .collect()
}

fn assert_flags(template: &str, construct: &str) {
    let found = messages(template);
    assert!(
        found.iter().any(|m| m.contains(construct)),
        "{construct:?} not in {found:?}"
    );
}

#[test]
fn published_chat_templates_are_safe() {
    let names = [
        "meta-llama-Meta-Llama-3-8B-Instruct.jinja",
        "meta-llama-Llama-3.3-70B-Instruct.jinja",
        "Qwen-Qwen3-0.6B.jinja",
        "google-gemma-2-2b-it.jinja",
        "microsoft-Phi-3.5-mini-instruct.jinja",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "chatml.jinja",
    ];
    for name in names {
        assert_eq!(messages(&fixture(name)), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn the_cve_2024_34359_payload_is_named_with_its_position() {
    let found = messages(&fixture("unsafe/cve_2024_34359_subclasses.jinja"));
    assert!(
        found
            .iter()
            .any(|m| m.contains("the attribute `__class__` at line 1, column 16")),
        "{found:?}"
    );
    assert!(found.iter().any(|m| m.contains("`__subclasses__`")));
    assert!(found.iter().any(|m| m.contains("\"__import__\"")));
    assert!(found[0].starts_with("chat template \"tokenizer.chat_template\" uses"));
}

#[test]
fn known_escapes_are_flagged() {
    assert_flags(
        &fixture("unsafe/lipsum_globals.jinja"),
        "the global `lipsum`",
    );
    assert_flags(&fixture("unsafe/lipsum_globals.jinja"), "`__globals__`");
    assert_flags(
        &fixture("unsafe/cycler_init_globals.jinja"),
        "the global `cycler`",
    );
    assert_flags(&fixture("unsafe/cycler_init_globals.jinja"), "`__init__`");
    assert_flags(
        &fixture("unsafe/escaped_dunder_subscript.jinja"),
        "\"__class__\"",
    );
    assert_flags(
        &fixture("unsafe/attr_filter_dunder.jinja"),
        "the attribute `__class__`",
    );
    assert_flags(
        &fixture("unsafe/computed_key.jinja"),
        "a subscript whose key is a string built",
    );
    assert_flags(
        &fixture("unsafe/template_reference_context.jinja"),
        "the global `self`",
    );
    assert_flags(
        &fixture("unsafe/template_reference_context.jinja"),
        "`_TemplateReference__context`",
    );
    assert_flags(
        &fixture("unsafe/str_format.jinja"),
        "the attribute `format`",
    );
    assert_flags(&fixture("unsafe/include.jinja"), "the statement `include`");
}

#[test]
fn attributes_filters_tests_and_functions_outside_the_safe_set() {
    assert_flags("{{ request.application }}", "the global `request`");
    assert_flags(
        "{{ messages.pop() }}",
        "the attribute `pop`, outside the safe set",
    );
    assert_flags("{{ messages['gi_frame'] }}", "the attribute `gi_frame`");
    assert_flags("{{ messages|format }}", "the filter `format`");
    assert_flags("{{ messages|map('format') }}", "the filter `format`");
    assert_flags("{{ messages|map(attribute='__class__') }}", "`__class__`");
    assert_flags(
        "{{ messages|selectattr('role', 'callable') }}",
        "the test `callable`",
    );
    assert_flags("{{ messages is callable }}", "the test `callable`");
    assert_flags("{{ messages|attr(name) }}", "computed value");
    assert_flags("{{ os_popen('id') }}", "the function `os_popen`");
    assert_flags("{{ x._private }}", "the attribute `_private`");
    assert_flags("{% do x.append(1) %}", "the statement `do`");
    assert_flags("{% filter format %}x{% endfilter %}", "the filter `format`");
}

#[test]
fn built_strings_are_followed_into_keys() {
    assert_flags("{{ x[('a_b'|list)[1] ~ 'x'] }}", "key is a string built");
    assert_flags(
        "{% set k %}__class__{% endset %}{{ x[k] }}",
        "key is a string built",
    );
    assert_flags(
        "{% for c in 'a_b' %}{{ x[c] }}{% endfor %}",
        "key is a string built",
    );
    assert_flags(
        "{% set a = 'cl' ~ 'ass' %}{% set b = a %}{{ x[b] }}",
        "key is a string built",
    );
    assert_flags(
        "{% set ns = namespace(k=0) %}{% set ns.k = 'a' ~ 'b' %}{{ x[ns.k] }}",
        "key is a string built",
    );
    // Numbers and data as keys are fine.
    let ok = "{% set ns = namespace(i=0, s='') %}{% set n = messages|length - 1 %}{{ messages[n] }}{{ messages[ns.i] }}{{ messages[loop.index0 - 1] }}{{ m[k] }}";
    assert_eq!(messages(ok), Vec::<String>::new());
}

#[test]
fn namespace_fields_are_allowed_attributes() {
    let ok =
        "{% set ns = namespace(found=false) %}{% set ns.seen = 1 %}{{ ns.found }}{{ ns.seen }}";
    assert_eq!(messages(ok), Vec::<String>::new());
    assert_flags("{{ ns.found }}", "the attribute `found`");
}

#[test]
fn templates_that_cannot_be_tokenised_cannot_be_checked() {
    assert_flags(
        "{{ x",
        "cannot be checked: a tag that never closes at line 1, column 1",
    );
    assert_flags("ab\n{{ x ＿ }}", "cannot be checked");
    let bytes = check_bytes("tokenizer.chat_template", b"{{ \xff }}");
    assert!(bytes[0].message.contains("is not UTF-8"));
    let huge = "a".repeat(MAX_TEMPLATE_BYTES as usize + 1);
    assert_flags(&huge, "cannot be checked");
}

#[test]
fn problems_are_capped_and_work_is_bounded() {
    let many = "{{ x.__a__ }}".repeat(1000);
    let found = messages(&many);
    assert_eq!(found.len(), MAX_PROBLEMS + 1);
    assert!(found.last().unwrap().contains("980 more"));
    // A long attribute chain inside a subscript costs linear work.
    let chain = format!("{{{{ x[a{}] }}}}", ".b".repeat(200_000));
    let started = std::time::Instant::now();
    assert_flags(&chain, "the attribute `b`");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let namespaces = format!(
        "{{{{ {}1{} }}}}",
        "namespace(".repeat(60_000),
        ")".repeat(60_000)
    );
    assert_flags(&namespaces, "nested over 64 deep");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(200), ")".repeat(200));
    assert_flags(&deep, "nested over 64 deep");
}
