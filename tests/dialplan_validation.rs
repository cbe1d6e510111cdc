//! Load-time validation: every error is reported, each as `file:line: reason`.

use switchboard::dialplan::{Dialplan, PlanErrorKind};

fn errors(name: &str, text: &str) -> Vec<String> {
    match Dialplan::from_str(name, text) {
        Ok(_) => panic!("{name} should not load"),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

const BAD: &str = r#"[context.a]
include = ["nowhere", "b"]
colour = "red"

[[context.a.extension]]
exten = "_1XXX"
actions = [
  { dail = { endpoint = "x" } },
  { dial = { endpoint = "x", bogus = 1 } },
  { dial = { trunk = "carrier" } },
  { goto = { context = "zzz", exten = "s" } },
  { playback = "${EXTEN" },
  { hangup = "sleepy" },
  42,
  { dial = { number = "123", endpoint = "x" } },
  { dial = { timeout = 30 } },
  { dial = { endpoint = "x", timeout = 0 } },
  { set = { var = "1x", value = "y" } },
  { playback = "${EXTEN:one}" },
]

[[context.a.extension]]
exten = "_1XXX"
actions = ["answer"]

[[context.a.extension]]
exten = "_1[5-"
actions = ["answer"]

[[context.a.extension]]
regex = "(("
actions = ["answer"]

[[context.a.extension]]
exten = "s"
when = [
  { tz = "Mars/Base" },
  { time = "09:00-25:00" },
  { weekdays = "mon-fry" },
  { dates = "2026-02-01..2026-01-01" },
  { caller = "_1", time = "09:00-10:00" },
  { nonsense = 1 },
  { caller = "_9.9" },
  { var = "lang" },
  {},
]
actions = ["answer"]

[[context.a.extension]]
actions = ["answer"]

[[context.a.extension]]
exten = "t"

[[context.a.extension]]
exten = "u"
regex = "^u$"
actions = ["answer"]

[context.b]
include = ["a"]

[[context.b.extension]]
exten = "1"
actions = [
  { goto = { exten = "9" } },
  { ivr = { prompt = "menu", context = "nope" } },
  { ivr = { prompt = "menu", on_failure = "x" } },
  { transfer = { context = "a", exten = "2000" } },
]

[context."bad name"]

[other]
x = 1
"#;

#[test]
fn every_error_is_reported_with_file_line_and_reason() {
    let expected = [
        r#"bad.toml:2: context "a": unknown context "nowhere""#,
        r#"bad.toml:3: context "a": unknown key "colour""#,
        r#"bad.toml:8: extension "_1XXX": unknown action "dail""#,
        r#"bad.toml:9: extension "_1XXX": unknown key "bogus""#,
        r#"bad.toml:10: extension "_1XXX": dial to a trunk needs number"#,
        r#"bad.toml:11: extension "_1XXX": unknown context "zzz""#,
        r#"bad.toml:12: extension "_1XXX": unclosed "${" in "${EXTEN""#,
        "bad.toml:13: extension \"_1XXX\": unknown variant `sleepy`, expected one of `unallocated_number`, \
         `no_route_destination`, `normal_clearing`, `user_busy`, `no_answer`, `call_rejected`, `congestion`, \
         `normal_temporary_failure`",
        r#"bad.toml:14: extension "_1XXX": an action is a name or a one-key table such as { playback = "hello" }"#,
        r#"bad.toml:15: extension "_1XXX": dial number without trunk"#,
        r#"bad.toml:16: extension "_1XXX": dial needs endpoint, endpoints, trunk or trunks"#,
        r#"bad.toml:17: extension "_1XXX": timeout must be at least 1"#,
        r#"bad.toml:18: extension "_1XXX": bad variable name "1x""#,
        r#"bad.toml:19: extension "_1XXX": bad substring "EXTEN:one" (want :offset or :offset:length)"#,
        r#"bad.toml:23: extension "_1XXX": duplicates the unconditional extension on line 6, so it can never match"#,
        r#"bad.toml:27: extension "_1[5-": unclosed '[' in pattern"#,
        r#"bad.toml:31: extension "((": bad regex: unclosed group"#,
        r#"bad.toml:37: extension "s": unknown time zone "Mars/Base""#,
        r#"bad.toml:38: extension "s": bad time range "09:00-25:00" (want "HH:MM-HH:MM", start and end differ)"#,
        r#"bad.toml:39: extension "s": bad weekdays "mon-fry" (want e.g. "mon-fri" or "sat,sun")"#,
        r#"bad.toml:40: extension "s": bad date range "2026-02-01..2026-01-01" (want "YYYY-MM-DD..YYYY-MM-DD", start not after end)"#,
        r#"bad.toml:41: extension "s": condition mixes time and caller; write them as two conditions"#,
        r#"bad.toml:42: extension "s": unknown key "nonsense""#,
        r#"bad.toml:43: extension "s": caller: wildcard '.' must be the last element of a pattern"#,
        r#"bad.toml:44: extension "s": var condition needs exactly one of equals or regex"#,
        r#"bad.toml:45: extension "s": condition needs one of weekdays/time/dates, caller, or var"#,
        r#"bad.toml:49: extension: needs exten or regex"#,
        r#"bad.toml:53: extension "t": has no actions"#,
        r#"bad.toml:55: extension: has both exten and regex"#,
        r#"bad.toml:61: context "b": include cycle a -> b -> a"#,
        r#"bad.toml:66: extension "1": "9" matches no extension in context "b""#,
        r#"bad.toml:67: extension "1": unknown context "nope""#,
        r#"bad.toml:68: extension "1": "x" matches no extension in context "b""#,
        r#"bad.toml:69: extension "1": "2000" matches no extension in context "a""#,
        r#"bad.toml:72: context "bad name": bad context name (want letters, digits, '-' or '_')"#,
        r#"bad.toml:74: unknown key "other""#,
    ];
    let got = errors("bad.toml", BAD);
    for (i, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
        assert_eq!(g, e, "error #{i}");
    }
    assert_eq!(got.len(), expected.len(), "all errors: {got:#?}");
}

#[test]
fn toml_syntax_errors_have_lines() {
    let got = errors(
        "syntax.toml",
        "[context.a]\n\n[[context.a.extension]\nexten = \"1\"\n",
    );
    assert_eq!(got, ["syntax.toml:3: unclosed array table, expected `]`"]);
    let got = errors("s.toml", "[context.a]\nx = \n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("s.toml:2: "), "{got:?}");
}

#[test]
fn wrong_value_types_are_reported_where_they_are() {
    let text = "[context.a]\ninclude = \"b\"\n\n[[context.a.extension]]\nexten = 1000\nactions = [\"answer\"]\n";
    let got = errors("t.toml", text);
    assert_eq!(got[0], r#"t.toml:2: context "a": include must be an array"#);
    assert_eq!(
        got[1],
        "t.toml:5: extension: invalid type: integer `1000`, expected a string"
    );
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn duplicate_context_across_files_names_the_first() {
    let a = "[context.x]\n[[context.x.extension]]\nexten = \"1\"\nactions = [\"answer\"]\n";
    let b = "# b\n[context.x]\n";
    let errs = Dialplan::from_sources([("a.toml", a), ("b.toml", b)]).expect_err("duplicate");
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text,
        [r#"b.toml:2: context "x": context already defined at a.toml:1"#]
    );
    assert!(matches!(errs[0].kind, PlanErrorKind::DuplicateContext(_)));
}

#[test]
fn include_and_goto_across_files() {
    let a = "[context.x]\ninclude = [\"y\"]\n[[context.x.extension]]\nexten = \"1\"\nactions = [{ goto = { context = \"y\", exten = \"2\" } }]\n";
    let b = "[context.y]\n[[context.y.extension]]\nexten = \"2\"\nactions = [\"answer\"]\n";
    assert!(Dialplan::from_sources([("a.toml", a), ("b.toml", b)]).is_ok());
}

#[test]
fn same_pattern_is_allowed_after_a_conditional_extension() {
    let text = r#"
[context.a]
[[context.a.extension]]
exten = "s"
when = [{ caller = "^1" }]
actions = ["answer"]

[[context.a.extension]]
exten = "s"
actions = [{ hangup = "call_rejected" }]
"#;
    assert!(Dialplan::from_str("ok.toml", text).is_ok());
}

#[test]
fn longer_cycles_are_reported_once() {
    let text = r#"
[context.a]
include = ["b"]
[context.b]
include = ["c"]
[context.c]
include = ["a"]
[context.self]
include = ["self"]
"#;
    let got = errors("cyc.toml", text);
    assert_eq!(
        got,
        [
            r#"cyc.toml:7: context "c": include cycle a -> b -> c -> a"#,
            r#"cyc.toml:9: context "self": include cycle self -> self"#,
        ]
    );
}

#[test]
fn missing_directory_is_an_error_not_a_panic() {
    let errs = Dialplan::load_dir("/nonexistent/dialplans").expect_err("missing");
    assert_eq!(errs.len(), 1);
    assert!(matches!(errs[0].kind, PlanErrorKind::Io(_)));
    assert!(errs[0]
        .to_string()
        .starts_with("/nonexistent/dialplans: cannot read: "));
}

#[test]
fn bad_var_regex_and_expected_shapes() {
    let text = r#"[context.a]
[[context.a.extension]]
exten = "1"
when = [{ var = "x", regex = "[" }]
actions = "answer"

[context.b]
extension = 5
"#;
    let got = errors("v.toml", text);
    assert_eq!(
        got,
        [
            r#"v.toml:4: extension "1": regex: bad regex: unclosed character class"#,
            r#"v.toml:5: extension "1": actions must be an array"#,
            r#"v.toml:8: context "b": extension must be an array"#,
        ]
    );
}
