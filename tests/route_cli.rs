//! `switchboard route`: the dialplan dry-run an operator runs before a reload.

use std::process::Command;

fn route(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("route")
        .args(args)
        .output()
        .expect("switchboard runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn extension_routes_to_its_endpoint_and_after_hours_to_the_closed_branch() {
    let (ok, text) = route(&[
        "--context",
        "internal",
        "--caller",
        "1001",
        "--callee",
        "1002",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("\"endpoint\": \"1002\""), "{text}");

    let (ok, text) = route(&[
        "--context",
        "from-trunk",
        "--callee",
        "441234",
        "--at",
        "2026-11-28T12:00:00Z",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("Sat is not in mon-fri") && text.contains("\"prompt\": \"closed\""),
        "{text}"
    );
}

#[test]
fn unknown_number_fails_with_the_reason() {
    let (ok, text) = route(&["--context", "internal", "--callee", "77"]);
    assert!(!ok);
    assert!(
        text.contains("no route: no extension matches \"77\""),
        "{text}"
    );
}
