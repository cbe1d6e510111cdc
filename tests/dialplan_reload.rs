//! `PlanHandle`: a reload swaps only a wholly valid plan; calls keep the plan they started with.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use switchboard::dialplan::{Action, Dialplan, PlanHandle, RouteContext};

fn plan_text(prompt: &str) -> String {
    format!("[context.c]\n[[context.c.extension]]\nexten = \"1\"\nactions = [{{ playback = \"{prompt}\" }}]\n")
}

fn prompt(plan: &Dialplan) -> String {
    let ctx = RouteContext {
        context: "c".into(),
        caller: "".into(),
        callee: "1".into(),
        vars: BTreeMap::new(),
        now: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid"),
    };
    match plan.route(&ctx).expect("routes").actions.first() {
        Some(Action::Playback { prompt }) => prompt.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reload_keeps_old_plan_on_error_and_swaps_a_valid_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("main.toml");
    std::fs::write(&file, plan_text("v1")).expect("write");
    let handle = PlanHandle::load_dir(dir.path()).expect("v1 loads");
    let in_call: Arc<Dialplan> = handle.current();

    // A broken edit, plus a second file with its own error: both reported, nothing swapped.
    std::fs::write(&file, plan_text("v2").replace("playback", "playbak")).expect("write");
    std::fs::write(
        dir.path().join("more.toml"),
        "[context.d]\ninclude = [\"ghost\"]\n",
    )
    .expect("write");
    let errors = handle.reload_dir(dir.path()).expect_err("invalid");
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        text,
        [
            r#"main.toml:4: extension "1": unknown action "playbak""#,
            r#"more.toml:2: context "d": unknown context "ghost""#,
        ]
    );
    assert_eq!(prompt(&handle.current()), "v1", "running plan kept");
    assert!(Arc::ptr_eq(&in_call, &handle.current()));

    // Fixed: swapped in; the call in progress keeps v1.
    std::fs::write(&file, plan_text("v2")).expect("write");
    std::fs::remove_file(dir.path().join("more.toml")).expect("remove");
    handle.reload_dir(dir.path()).expect("v2 loads");
    assert_eq!(prompt(&handle.current()), "v2");
    assert_eq!(prompt(&in_call), "v1");
}

#[test]
fn only_toml_files_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.toml"), plan_text("a")).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not toml [").expect("write");
    std::fs::write(dir.path().join("a.toml.bak"), "broken [").expect("write");
    let plan = Dialplan::load_dir(dir.path()).expect("loads");
    assert_eq!(prompt(&plan), "a");
}
