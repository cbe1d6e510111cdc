//! SIGHUP's reload on a running switch: queues and agents from the edited configuration
//! file take effect without a restart, and an invalid file is refused while the running
//! queues stay. (`runtime::reload` is what the SIGHUP handler runs.)

use std::path::Path;

use switchboard::config::Config;
use switchboard::runtime::{reload, Running};

fn write_config(dir: &Path, queues: &str) {
    let text = format!(
        r#"
[sip]
listen = ["udp:127.0.0.1:0"]
domain = "reload.test"
[store]
url = "sqlite://{db}"
[dialplan]
dir = "{plans}"
[media]
mode = "bypass"
[http]
listen = ""
[[endpoint]]
user = "1001"
password = "pw1"
context = "internal"
[[endpoint]]
user = "1002"
password = "pw2"
context = "internal"
{queues}
"#,
        db = dir.join("sb.db").display(),
        plans = dir.join("plans").display(),
    );
    std::fs::write(dir.join("sb.toml"), text).unwrap();
}

async fn queues(running: &Running) -> Vec<String> {
    let view = running.control.acd().await.unwrap().expect("an ACD");
    view.queues.iter().map(|q| q.queue.clone()).collect()
}

#[tokio::test]
async fn queues_and_agents_reload_from_the_file_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plans")).unwrap();
    std::fs::write(
        dir.path().join("plans/plan.toml"),
        "[context.internal]\n[[context.internal.extension]]\nexten = \"_X.\"\nactions = [{ hangup = \"unallocated_number\" }]\n",
    )
    .unwrap();
    let file = dir.path().join("sb.toml");
    write_config(
        dir.path(),
        "[[queue]]\nname = \"sales\"\n[[agent]]\nid = \"1001\"\nendpoint = \"1001\"\nqueues = [{ queue = \"sales\" }]\n",
    );
    let running = switchboard::runtime::start(Config::load(&file).unwrap())
        .await
        .expect("switch starts");
    assert_eq!(queues(&running).await, ["sales"]);
    assert!(running
        .control
        .agent_op("1001", switchboard::acd::AgentOp::Login)
        .await
        .unwrap());

    write_config(
        dir.path(),
        "[[queue]]\nname = \"sales\"\n[[queue]]\nname = \"support\"\n\
         [[agent]]\nid = \"1001\"\nendpoint = \"1001\"\nqueues = [{ queue = \"sales\" }]\n\
         [[agent]]\nid = \"1002\"\nendpoint = \"1002\"\nqueues = [{ queue = \"support\" }]\n",
    );
    reload(
        &running.plans,
        &dir.path().join("plans"),
        &running.control,
        Some(&file),
    )
    .await;
    let mut now = queues(&running).await;
    now.sort();
    assert_eq!(now, ["sales", "support"]);
    assert_eq!(
        running.control.queue_members("support").await.unwrap(),
        Some(vec!["1002".to_string()])
    );
    let view = running.control.acd().await.unwrap().unwrap();
    let a1001 = view.agents.iter().find(|a| a.id.0 == "1001").unwrap();
    assert_eq!(
        a1001.state,
        switchboard::acd::AgentState::Available,
        "an agent who stays keeps its state"
    );

    // A broken file: refused, the queues in force stay.
    write_config(
        dir.path(),
        "[[queue]]\nname = \"sales\"\nstrategy = \"bogus\"\n",
    );
    reload(
        &running.plans,
        &dir.path().join("plans"),
        &running.control,
        Some(&file),
    )
    .await;
    let mut now = queues(&running).await;
    now.sort();
    assert_eq!(now, ["sales", "support"]);
    running.stop_now();
    running.wait().await;
}
