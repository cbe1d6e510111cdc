//! The shipped `dialplans/demo.toml` loads cleanly and routes the calls `make run` shows.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use switchboard::dialplan::{Action, AgentOp, DialTarget, Dialplan, IvrMenu, RouteContext};

fn plan() -> Dialplan {
    match Dialplan::load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans")) {
        Ok(p) => p,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("demo plan has errors:\n{}", text.join("\n"))
        }
    }
}

/// Tue 2026-01-13 10:00 London (GMT): office hours.
fn office_hours() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 13, 10, 0, 0)
        .single()
        .expect("valid")
}

fn ctx(context: &str, caller: &str, callee: &str, now: DateTime<Utc>) -> RouteContext {
    RouteContext {
        context: context.into(),
        caller: caller.into(),
        callee: callee.into(),
        vars: BTreeMap::new(),
        now,
    }
}

fn main_menu() -> Action {
    Action::Ivr(IvrMenu {
        context: "ivr-main".into(),
        prompt: "main-menu".into(),
        invalid_prompt: Some("invalid-option".into()),
        timeout_secs: 5,
        max_digits: 1,
        attempts: 3,
        on_failure: "i".into(),
    })
}

#[test]
fn demo_loads_without_errors() {
    let p = plan();
    let names: Vec<&str> = p.contexts().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["agent-codes", "from-trunk", "internal", "ivr-main"]);
    let trunks: Vec<String> = p.referenced_trunks().into_iter().map(|r| r.name).collect();
    assert_eq!(trunks, ["carrier"]);
}

#[test]
fn internal_extension_dials_endpoint_and_a_failure_reaches_the_caller() {
    let r = plan()
        .route(&ctx("internal", "1002", "1001", office_hours()))
        .expect("routes");
    assert_eq!(r.extension, "_1XXX");
    match &r.actions[..] {
        [Action::Dial {
            targets,
            timeout_secs: 30,
            ..
        }] => {
            assert_eq!(targets, &[DialTarget::Endpoint("1001".into())]);
        }
        other => panic!("unexpected actions {other:?}"),
    }
}

#[test]
fn nine_prefix_goes_to_carrier_with_nine_stripped() {
    let r = plan()
        .route(&ctx("internal", "1002", "902079460000", office_hours()))
        .expect("routes");
    match &r.actions[0] {
        Action::Dial { targets, .. } => assert_eq!(
            targets,
            &[DialTarget::Trunk {
                trunk: "carrier".into(),
                number: "02079460000".into()
            }]
        ),
        other => panic!("expected dial, got {other:?}"),
    }
}

#[test]
fn five_hundred_is_the_ivr() {
    let r = plan()
        .route(&ctx("internal", "1002", "500", office_hours()))
        .expect("routes");
    assert_eq!(r.actions, vec![Action::Answer, main_menu()]);
    assert_eq!(
        (r.context.as_str(), r.extension.as_str()),
        ("ivr-main", "s")
    );
    assert_eq!(r.hops.len(), 2, "500 then goto ivr-main,s");
}

#[test]
fn trunk_did_reaches_the_ivr_and_menu_digits_route() {
    let p = plan();
    let r = p
        .route(&ctx(
            "from-trunk",
            "+447700900123",
            "442079460000",
            office_hours(),
        ))
        .expect("routes");
    assert_eq!(r.actions, vec![Action::Answer, main_menu()]);
    // The call asks again with the chosen digit in the menu's context.
    let sales = p
        .route(&ctx("ivr-main", "+447700900123", "1", office_hours()))
        .expect("routes");
    assert_eq!(
        sales.actions,
        vec![Action::Queue {
            name: "sales".into(),
            max_wait_secs: None
        }]
    );
    let support = p
        .route(&ctx("ivr-main", "+447700900123", "2", office_hours()))
        .expect("routes");
    assert_eq!(
        support.actions[0],
        Action::Queue {
            name: "support".into(),
            max_wait_secs: None
        }
    );
    let operator = p
        .route(&ctx("ivr-main", "+447700900123", "0", office_hours()))
        .expect("routes");
    assert!(
        matches!(&operator.actions[0], Action::Dial { targets, .. } if targets == &[DialTarget::Endpoint("1000".into())])
    );
    assert!(
        p.route(&ctx("ivr-main", "x", "7", office_hours())).is_err(),
        "7 is invalid: the menu retries"
    );
    let failed = p
        .route(&ctx("ivr-main", "x", "i", office_hours()))
        .expect("routes");
    assert!(matches!(failed.actions.last(), Some(Action::Hangup { .. })));
}

#[test]
fn saturday_noon_london_is_closed() {
    let sat = Utc
        .with_ymd_and_hms(2026, 1, 17, 12, 0, 0)
        .single()
        .expect("valid");
    let r = plan()
        .route(&ctx("from-trunk", "+447700900123", "442079460000", sat))
        .expect("routes");
    assert_eq!(
        r.actions[1],
        Action::Playback {
            prompt: "closed".into()
        }
    );
    assert!(matches!(r.actions.last(), Some(Action::Hangup { .. })));
    let explained = plan().explain(&ctx("from-trunk", "+447700900123", "442079460000", sat));
    assert!(
        explained.contains("fails: Sat 2026-01-17 12:00 GMT: Sat is not in mon-fri"),
        "{explained}"
    );
}

#[test]
fn star_codes_are_agent_actions() {
    let p = plan();
    for (code, op) in [
        ("*45", AgentOp::Login),
        ("*46", AgentOp::Logout),
        ("*47", AgentOp::Pause),
        ("*48", AgentOp::Unpause),
    ] {
        let r = p
            .route(&ctx("internal", "1003", code, office_hours()))
            .expect("routes");
        match &r.actions[0] {
            Action::QueueAgent { op: got, agent, .. } => {
                assert_eq!((*got, agent.as_str()), (op, "1003"), "{code}");
            }
            other => panic!("{code}: expected queue_agent, got {other:?}"),
        }
        assert_eq!(r.context, "agent-codes", "found through the include");
    }
}

#[test]
fn demo_plan_serializes_for_the_api() {
    let json = serde_json::to_value(plan()).expect("serializes");
    let s = &json["contexts"]["ivr-main"]["extensions"][0];
    assert_eq!(s["matcher"], "s");
    assert_eq!(s["when"][0]["time"]["tz"], "Europe/London");
    assert_eq!(s["when"][0]["time"]["weekdays"], "mon-fri");
}
