//! `route()` semantics: search order, includes, regexes, conditions and anti-actions,
//! variable expansion, goto and its loop guard, ring groups, and `explain`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use switchboard::dialplan::{
    route, Action, Branch, DialTarget, Dialplan, HangupCause, RingStrategy, RouteContext,
    RouteError,
};

fn plan(text: &str) -> Dialplan {
    Dialplan::from_str("t.toml", text).unwrap_or_else(|errs| {
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        panic!("plan has errors:\n{}", text.join("\n"))
    })
}

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 13, 12, 0, 0)
        .single()
        .expect("valid")
}

fn call(context: &str, caller: &str, callee: &str) -> RouteContext {
    RouteContext {
        context: context.into(),
        caller: caller.into(),
        callee: callee.into(),
        vars: BTreeMap::new(),
        now: noon(),
    }
}

fn prompts(plan: &Dialplan, ctx: &RouteContext) -> Vec<String> {
    let r = route(plan, ctx).unwrap_or_else(|e| panic!("{e}\n{}", plan.explain(ctx)));
    r.actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Playback { prompt } => Some(prompt),
            _ => None,
        })
        .collect()
}

fn play(p: &str) -> String {
    format!("actions = [{{ playback = \"{p}\" }}]")
}

#[test]
fn literal_beats_patterns_and_narrow_patterns_beat_wide_ones() {
    // Written widest first: file order must not decide.
    let p = plan(&format!(
        r#"
[context.c]
[[context.c.extension]]
exten = "_X."
{}
[[context.c.extension]]
exten = "_1XXX"
{}
[[context.c.extension]]
exten = "_10XX"
{}
[[context.c.extension]]
exten = "1000"
{}
[[context.c.extension]]
regex = "^1"
{}
"#,
        play("wide"),
        play("1xxx"),
        play("10xx"),
        play("literal"),
        play("regex")
    ));
    assert_eq!(prompts(&p, &call("c", "", "1000")), ["literal"]);
    assert_eq!(prompts(&p, &call("c", "", "1001")), ["10xx"]);
    assert_eq!(prompts(&p, &call("c", "", "1101")), ["1xxx"]);
    assert_eq!(
        prompts(&p, &call("c", "", "11")),
        ["wide"],
        "_X. before regexes"
    );
}

#[test]
fn regex_extensions_capture_groups() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
regex = '^00(\d{2})(\d+)$'
actions = [{ dial = { trunk = "intl", number = "+${1}${2}" } }, { set = { var = "cc", value = "${1}" } }]
"#,
    );
    let r = route(&p, &call("c", "", "00447700900123")).expect("routes");
    assert_eq!(r.extension, r"/^00(\d{2})(\d+)$/");
    assert_eq!(
        r.actions[0],
        Action::Dial {
            targets: vec![DialTarget::Trunk {
                trunk: "intl".into(),
                number: "+447700900123".into()
            }],
            strategy: RingStrategy::Parallel,
            timeout_secs: 30,
            caller_id: None,
        }
    );
    assert_eq!(r.vars.get("cc").map(String::as_str), Some("44"));
}

#[test]
fn includes_are_searched_after_own_extensions_in_order_depth_first() {
    let p = plan(&format!(
        r#"
[context.top]
include = ["first", "second"]
[[context.top.extension]]
exten = "1"
{}
[context.first]
include = ["deep"]
[[context.first.extension]]
exten = "_X"
{}
[context.second]
[[context.second.extension]]
exten = "2"
{}
[[context.second.extension]]
exten = "_X."
{}
[context.deep]
[[context.deep.extension]]
exten = "22"
{}
"#,
        play("top"),
        play("first"),
        play("second-2"),
        play("second-wide"),
        play("deep")
    ));
    assert_eq!(
        prompts(&p, &call("top", "", "1")),
        ["top"],
        "own extension first"
    );
    assert_eq!(
        prompts(&p, &call("top", "", "2")),
        ["first"],
        "first include before second"
    );
    assert_eq!(
        prompts(&p, &call("top", "", "22")),
        ["deep"],
        "first's include before second"
    );
    assert_eq!(prompts(&p, &call("top", "", "333")), ["second-wide"]);
    let r = route(&p, &call("top", "", "22")).expect("routes");
    assert_eq!(
        (r.hops[0].context.as_str(), r.hops[0].matched_in.as_str()),
        ("top", "deep")
    );
}

#[test]
fn caller_conditions_regex_and_pattern() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "s"
when = [{ caller = "^\\+44" }]
actions = [{ playback = "uk" }]

[[context.c.extension]]
exten = "s"
when = [{ caller = "_1XXX" }]
actions = [{ playback = "internal" }]

[[context.c.extension]]
exten = "s"
actions = [{ playback = "other" }]
"#,
    );
    assert_eq!(prompts(&p, &call("c", "+447700900123", "s")), ["uk"]);
    assert_eq!(prompts(&p, &call("c", "1234", "s")), ["internal"]);
    assert_eq!(
        prompts(&p, &call("c", "12345", "s")),
        ["other"],
        "pattern is anchored"
    );
    assert_eq!(prompts(&p, &call("c", "+33123", "s")), ["other"]);
}

#[test]
fn anti_actions_run_when_a_condition_fails() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "s"
when = [{ var = "vip", equals = "yes" }, { caller = "^1" }]
actions = [{ playback = "vip" }]
anti_actions = [{ playback = "normal" }]
"#,
    );
    let mut ctx = call("c", "100", "s");
    assert_eq!(prompts(&p, &ctx), ["normal"], "var missing");
    ctx.vars.insert("vip".into(), "yes".into());
    assert_eq!(prompts(&p, &ctx), ["vip"]);
    ctx.caller = "200".into();
    assert_eq!(prompts(&p, &ctx), ["normal"], "second condition fails");
    assert_eq!(
        route(&p, &ctx).expect("routes").hops[0].branch,
        Branch::AntiActions
    );
}

#[test]
fn time_conditions_evaluate_at_now_in_their_zone() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "s"
when = [{ weekdays = "mon-fri", time = "09:00-17:00", tz = "America/New_York" }]
actions = [{ playback = "open" }]
anti_actions = [{ playback = "closed" }]
"#,
    );
    let mut ctx = call("c", "", "s");
    ctx.now = Utc
        .with_ymd_and_hms(2026, 1, 13, 13, 59, 0)
        .single()
        .expect("valid"); // 08:59 EST
    assert_eq!(prompts(&p, &ctx), ["closed"]);
    ctx.now = Utc
        .with_ymd_and_hms(2026, 1, 13, 14, 0, 0)
        .single()
        .expect("valid"); // 09:00 EST
    assert_eq!(prompts(&p, &ctx), ["open"]);
    ctx.now = Utc
        .with_ymd_and_hms(2026, 7, 14, 13, 0, 0)
        .single()
        .expect("valid"); // 09:00 EDT
    assert_eq!(
        prompts(&p, &ctx),
        ["open"],
        "daylight saving time is New York's"
    );
}

#[test]
fn failed_conditions_without_anti_actions_fall_through() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "_X."
when = [{ caller = "^nobody$" }]
actions = [{ playback = "never" }]

[[context.c.extension]]
regex = "."
actions = [{ playback = "fallback" }]
"#,
    );
    assert_eq!(prompts(&p, &call("c", "100", "123")), ["fallback"]);
}

#[test]
fn variables_are_expanded() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "_9X."
actions = [
  { set = { var = "short", value = "${EXTEN:1:3}" } },
  { playback = "${short}-${EXTEN:-2}-${CALLERID(num)}-${caller}-${CONTEXT}-${lang}-${unset}" },
  { collect = { var = "pin", max_digits = 4, prompt = "enter-pin-${lang}" } },
  { playback = "you-said-${pin}" },
  { set = { var = "pin", value = "0000" } },
  { playback = "now-${pin}" },
]
"#,
    );
    let mut ctx = call("c", "1001", "912345");
    ctx.vars.insert("lang".into(), "en".into());
    assert_eq!(
        prompts(&p, &ctx),
        ["123-45-1001-1001-c-en-", "you-said-${pin}", "now-0000"],
        "collect's variable is left for the call until a set"
    );
    let r = route(&p, &ctx).expect("routes");
    assert!(
        matches!(&r.actions[2], Action::Collect { prompt: Some(p), .. } if p == "enter-pin-en")
    );
}

#[test]
fn goto_follows_and_renames_exten() {
    let p = plan(
        r#"
[context.a]
[[context.a.extension]]
exten = "_8XX"
actions = ["answer", { goto = { context = "b", exten = "${EXTEN:1}" } }, { playback = "unreached" }]
[context.b]
[[context.b.extension]]
exten = "_XX"
actions = [{ playback = "b-${EXTEN}-${CONTEXT}" }]
"#,
    );
    let r = route(&p, &call("a", "", "842")).expect("routes");
    assert_eq!(
        r.actions,
        vec![
            Action::Answer,
            Action::Playback {
                prompt: "b-42-b".into()
            }
        ]
    );
    assert_eq!((r.context.as_str(), r.extension.as_str()), ("b", "_XX"));
    assert_eq!(r.hops.len(), 2);
}

#[test]
fn goto_loop_is_stopped() {
    let p = plan(
        r#"
[context.a]
[[context.a.extension]]
exten = "s"
actions = [{ playback = "a" }, { goto = { context = "b", exten = "s" } }]
[context.b]
[[context.b.extension]]
exten = "s"
actions = [{ goto = { context = "a", exten = "s" } }]
"#,
    );
    let err = route(&p, &call("a", "", "s")).expect_err("loops");
    match &err {
        RouteError::GotoLoop { limit, trail } => {
            assert_eq!(*limit, switchboard::dialplan::MAX_GOTOS);
            assert!(trail.starts_with("a,s -> b,s -> a,s"), "{trail}");
        }
        other => panic!("expected a goto loop, got {other:?}"),
    }
    assert_eq!(err.cause(), HangupCause::NormalTemporaryFailure);
}

#[test]
fn no_match_and_unknown_context() {
    let p = plan("[context.c]\n[[context.c.extension]]\nexten = \"1\"\nactions = [\"answer\"]\n");
    let err = route(&p, &call("c", "", "2")).expect_err("no match");
    assert_eq!(
        err,
        RouteError::NoMatch {
            context: "c".into(),
            exten: "2".into()
        }
    );
    assert_eq!(err.cause(), HangupCause::UnallocatedNumber);
    assert_eq!(err.cause().q850(), 1);
    let err = route(&p, &call("zz", "", "1")).expect_err("unknown");
    assert_eq!(err, RouteError::UnknownContext("zz".into()));
}

#[test]
fn ring_groups_and_trunk_failover() {
    let p = plan(
        r#"
[context.c]
[[context.c.extension]]
exten = "600"
actions = [
  { dial = { endpoints = ["1001", "1002"], strategy = "sequence", timeout = 15 } },
  { dial = { trunks = ["primary", "backup"], number = "+44${EXTEN}", strategy = "sequence" } },
  { voicemail = { mailbox = "600" } },
]
"#,
    );
    let r = route(&p, &call("c", "", "600")).expect("routes");
    assert_eq!(
        r.actions[0],
        Action::Dial {
            targets: vec![
                DialTarget::Endpoint("1001".into()),
                DialTarget::Endpoint("1002".into())
            ],
            strategy: RingStrategy::Sequence,
            timeout_secs: 15,
            caller_id: None,
        }
    );
    match &r.actions[1] {
        Action::Dial { targets, .. } => assert_eq!(
            targets,
            &[
                DialTarget::Trunk {
                    trunk: "primary".into(),
                    number: "+44600".into()
                },
                DialTarget::Trunk {
                    trunk: "backup".into(),
                    number: "+44600".into()
                },
            ]
        ),
        other => panic!("{other:?}"),
    }
    let ends: Vec<String> = p
        .referenced_endpoints()
        .into_iter()
        .map(|r| format!("{}@{}", r.name, r.line))
        .collect();
    assert_eq!(ends, ["1001@6", "1002@6"]);
}

#[test]
fn route_serializes_to_json() {
    let p = plan(
        "[context.c]\n[[context.c.extension]]\nexten = \"1\"\nactions = [\"answer\", { hangup = \"user_busy\" }]\n",
    );
    let r = route(&p, &call("c", "", "1")).expect("routes");
    let json = serde_json::to_value(&r).expect("serializes");
    assert_eq!(
        json["actions"][0],
        serde_json::json!({ "action": "answer" })
    );
    assert_eq!(
        json["actions"][1],
        serde_json::json!({ "action": "hangup", "cause": "user_busy" })
    );
    assert_eq!(json["hops"][0]["line"], 3);
}

#[test]
fn explain_tells_what_matched_and_why() {
    let p = plan(
        r#"
[context.c]
include = ["more"]
[[context.c.extension]]
exten = "_2XX"
actions = ["answer"]
[[context.c.extension]]
exten = "_1XX"
when = [{ caller = "^9" }]
actions = ["answer"]
[context.more]
[[context.more.extension]]
exten = "_X."
actions = [{ playback = "found" }]
"#,
    );
    let text = p.explain(&call("c", "500", "123"));
    let expected = [
        r#"route "123" from "500" in context "c" at 2026-01-13 12:00:00 UTC"#,
        r#"context "c": looking up "123""#,
        r#"  extension "_2XX" (line 5): no match"#,
        r#"  extension "_1XX" (line 8): matches "123""#,
        r#"    condition 1 (caller /^9/): fails: caller "500" does not match /^9/"#,
        r#"    no anti_actions: skipped"#,
        r#"  include "more""#,
        r#"    extension "_X." (line 13): matches "123""#,
        r#"  running actions"#,
        r#"matched more extension "_X.""#,
        r#"  1. {"action":"playback","prompt":"found"}"#,
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
    let err = p.explain(&call("c", "500", "*"));
    assert!(err.ends_with("error: no extension matches \"*\" in context \"c\" (hangup unallocated_number, Q.850 cause 1)\n"), "{err}");
}

#[test]
fn set_then_goto_feeds_a_var_condition() {
    let p = plan(
        r#"
[context.a]
[[context.a.extension]]
exten = "7"
actions = [{ set = { var = "lang", value = "fr" } }, { goto = { context = "b", exten = "s" } }]
[context.b]
[[context.b.extension]]
exten = "s"
when = [{ var = "lang", regex = "^fr" }]
actions = [{ playback = "bonjour" }]
anti_actions = [{ playback = "hello" }]
"#,
    );
    assert_eq!(prompts(&p, &call("a", "", "7")), ["bonjour"]);
    assert_eq!(prompts(&p, &call("b", "", "s")), ["hello"]);
}

#[test]
fn every_action_kind_comes_out_as_json() {
    let p = plan(
        r##"
[context.c]
[[context.c.extension]]
exten = "1"
actions = [
  "answer",
  { playback = "hello" },
  { collect = { var = "acct", max_digits = 6, timeout = 7, terminator = "#" } },
  { record_start = { file = "rec/${caller}-${EXTEN}.wav" } },
  "record_stop",
  { queue = { name = "sales", max_wait = 600 } },
  { queue_agent = { op = "pause", agent = "${caller}", queue = "sales", reason = "lunch" } },
  { voicemail = { mailbox = "${EXTEN}", greeting = "vm-unavail", max_secs = 60 } },
  { transfer = { exten = "2" } },
  { ivr = { prompt = "menu", max_digits = 2, on_failure = "2" } },
  { dial = { endpoint = "1000", caller_id = "${caller}" } },
  { hangup = "call_rejected" },
]
[[context.c.extension]]
exten = "2"
actions = ["answer"]
"##,
    );
    let r = route(&p, &call("c", "555", "1")).expect("routes");
    let got: Vec<String> = r
        .actions
        .iter()
        .map(|a| serde_json::to_string(a).expect("json"))
        .collect();
    let expected = [
        r#"{"action":"answer"}"#,
        r#"{"action":"playback","prompt":"hello"}"#,
        r##"{"action":"collect","var":"acct","prompt":null,"max_digits":6,"timeout_secs":7,"terminator":"#"}"##,
        r#"{"action":"record_start","file":"rec/555-1.wav"}"#,
        r#"{"action":"record_stop"}"#,
        r#"{"action":"queue","name":"sales","max_wait_secs":600}"#,
        r#"{"action":"queue_agent","op":"pause","agent":"555","queue":"sales","reason":"lunch"}"#,
        r#"{"action":"voicemail","mailbox":"1","greeting":"vm-unavail","max_secs":60}"#,
        r#"{"action":"transfer","context":"c","exten":"2"}"#,
        r#"{"action":"ivr","context":"c","prompt":"menu","invalid_prompt":null,"timeout_secs":5,"max_digits":2,"attempts":3,"on_failure":"2"}"#,
        r#"{"action":"dial","targets":[{"endpoint":"1000"}],"strategy":"parallel","timeout_secs":30,"caller_id":"555"}"#,
        r#"{"action":"hangup","cause":"call_rejected"}"#,
    ];
    assert_eq!(got, expected);
}
