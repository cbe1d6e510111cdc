//! The core task: feeds inbound messages and timer wake-ups into the [`Switch`] and
//! carries out its outputs (transmit, store a CDR). One task owns the switch, so no
//! lock is ever taken on the signalling path.
//!
//! Call records go to the store writer in the switch's order, each flush followed by
//! [`StoreJob::Through`]; the writer's progress comes back as [`Written`] and releases the
//! responses the switch holds for those records ([`Switch::on_recorded`]).

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::{now_unix_ms, Stop, DRAIN_LIMIT};
use crate::b2bua::Now;
use crate::media::{MediaCallId, MediaEvent};
use crate::sip::transport::{Inbound, Transports};
use crate::switch::{Switch, SwitchOutput};

use super::call_events::{CallEvents, ANSWER_SCAN};
use super::control::ControlRequest;
use super::store_writer::{StoreJob, StoreLink, Written};

fn now() -> Now {
    Now {
        at: Instant::now(),
        unix_ms: now_unix_ms(),
    }
}

/// How often expired registrations are purged.
const PURGE_EVERY: Duration = Duration::from_secs(30);

#[allow(clippy::too_many_arguments)] // api: control requests and call events added
pub async fn run(
    mut switch: Switch,
    mut inbound: mpsc::Receiver<Inbound>,
    mut media: mpsc::UnboundedReceiver<(MediaCallId, MediaEvent)>,
    transports: Transports,
    mut store: StoreLink,
    mut stop: watch::Receiver<Stop>,
    // api: control requests from the HTTP API, and call events/metrics.
    mut control: mpsc::Receiver<ControlRequest>,
    mut events: CallEvents,
) {
    switch.start(now());
    let mut marked = 0;
    flush(&mut switch, &transports, &store, &mut marked, &mut events);
    let mut scan = tokio::time::interval(ANSWER_SCAN);
    scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut drain_deadline: Option<Instant> = None;
    let mut next_purge = Instant::now() + PURGE_EVERY;
    loop {
        let wake = switch
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
            .min(next_purge);
        tokio::select! {
            msg = inbound.recv() => {
                let Some(msg) = msg else { break };
                switch.on_message(now(), msg.data, msg.peer);
                // Take what is already queued without re-arming timers each time.
                for _ in 0..256 {
                    match inbound.try_recv() {
                        Ok(m) => switch.on_message(now(), m.data, m.peer),
                        Err(_) => break,
                    }
                }
            }
            Some(w) = store.written.recv() => {
                let mut w = w;
                while let Ok(more) = store.written.try_recv() {
                    w = Written { through: more.through, committed: w.committed && more.committed };
                }
                switch.on_recorded(now(), w.through, w.committed);
            }
            Some((call, event)) = media.recv() => {
                // opsapi: the recordings index hears of a closed file even after its call ended.
                if let MediaEvent::RecordDone { frames, failed, .. } = event {
                    let _ = store.jobs.send(StoreJob::RecordingDone {
                        media: call.0.clone(),
                        frames,
                        failed,
                        at_ms: now_unix_ms(),
                    });
                }
                switch.on_media_event(now(), &call, event)
            }
            Some(req) = control.recv() => super::control::serve(&mut switch, now(), req),
            _ = scan.tick() => {
                if events.wants_scan() && switch.active_calls() > 0 {
                    events.scan(switch.live_calls());
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                switch.on_timeout(now());
                if Instant::now() >= next_purge {
                    switch.purge_registrations(now());
                    next_purge = Instant::now() + PURGE_EVERY;
                }
            }
            changed = stop.changed() => {
                if changed.is_err() { break; }
                match *stop.borrow() {
                    Stop::Run => {}
                    Stop::Drain => {
                        switch.drain();
                        drain_deadline = Some(Instant::now() + DRAIN_LIMIT);
                    }
                    Stop::Now => break,
                }
            }
        }
        flush(&mut switch, &transports, &store, &mut marked, &mut events);
        if let Some(deadline) = drain_deadline {
            let idle = switch.active_calls() == 0 && switch.awaiting_store() == 0;
            if idle || Instant::now() >= deadline {
                break;
            }
        }
    }
    let _ = store.jobs.send(StoreJob::Flush);
}

/// Carries out everything the switch asked for.
/// `marked`: the last record number sent to the writer as [`StoreJob::Through`].
fn flush(
    switch: &mut Switch,
    transports: &Transports,
    store: &StoreLink,
    marked: &mut u64,
    events: &mut CallEvents,
) {
    while let Some(out) = switch.poll_output() {
        match out {
            SwitchOutput::Transmit(t) => transports.send(t.peer, t.bytes),
            SwitchOutput::CallStarted(c) => {
                events.started(&c);
                let _ = store.jobs.send(StoreJob::Started(c));
            }
            SwitchOutput::CallEnded(c) => {
                events.ended(&c);
                let _ = store.jobs.send(StoreJob::Ended(c));
            }
            SwitchOutput::Event(e) => {
                tracing::info!(kind = e.kind, data = %e.data, "event");
                // opsapi: agent state history and recordings are kept in the store.
                if let Some(job) = StoreJob::for_event(e.kind, &e.data, now_unix_ms()) {
                    let _ = store.jobs.send(job);
                }
                events.forward(e.kind, e.data, now_unix_ms());
            }
        }
    }
    if switch.records_output() > *marked {
        *marked = switch.records_output();
        let _ = store.jobs.send(StoreJob::Through(*marked));
    }
    store
        .metrics
        .set_sent_unrecorded(switch.stats.sent_unrecorded);
    events.set_active(switch.active_calls());
}
