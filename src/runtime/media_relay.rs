//! The production [`MediaControl`]: the relay engine, plus a forwarder per call that
//! carries the relay's events (media timeout, DTMF, prompt and recording ends) to the core
//! task, where the switch acts on them. Allocation binds sockets and `release` deletes the
//! session in the background, so nothing here waits on the signalling path. Prompts come
//! from the [`PromptLibrary`] (decoded once, shared); recordings land under the
//! configured directory.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::b2bua::media::MediaControl;
use crate::dialer::progress::{Listen, ProgressTap};
use crate::media::{
    Leg, LocalEndpoint, MediaCallId, MediaEngine, MediaError, MediaEvent, PromptLibrary,
    RemoteMedia,
};

pub struct EngineRelay {
    pub engine: MediaEngine,
    pub events: mpsc::UnboundedSender<(MediaCallId, MediaEvent)>,
    pub prompts: PromptLibrary,
    pub recordings: PathBuf,
}

impl MediaControl for EngineRelay {
    fn allocate(&self, call: &MediaCallId) -> Result<[LocalEndpoint; 2], MediaError> {
        let a = self.engine.offer(call, Leg::A, None)?;
        let b = match self.engine.offer(call, Leg::B, None) {
            Ok(b) => b,
            Err(e) => {
                self.release(call);
                return Err(e);
            }
        };
        if let Some(mut rx) = self.engine.take_events(call) {
            let (events, call) = (self.events.clone(), call.clone());
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    if events.send((call.clone(), ev)).is_err() {
                        return;
                    }
                }
            });
        }
        Ok([a, b])
    }

    fn update(&self, call: &MediaCallId, leg: Leg, media: RemoteMedia) -> Result<(), MediaError> {
        self.engine.update_media(call, leg, media)
    }

    fn release(&self, call: &MediaCallId) {
        let (engine, call) = (self.engine.clone(), call.clone());
        tokio::spawn(async move {
            engine.delete(&call).await;
        });
    }

    fn play(
        &self,
        call: &MediaCallId,
        leg: Leg,
        prompt: &str,
        looping: bool,
        id: u64,
    ) -> Result<(), MediaError> {
        let source = self.prompts.source(prompt, looping)?;
        self.engine.play(call, leg, source, id)
    }

    fn stop_play(&self, call: &MediaCallId, leg: Leg) {
        let _ = self.engine.stop_play(call, leg);
    }

    fn record(&self, call: &MediaCallId, file: Option<&str>) -> Result<(), MediaError> {
        match file {
            Some(f) => self.engine.record_start(call, &self.recordings.join(f)),
            None => self.engine.record_stop(call),
        }
    }

    fn stats(&self, call: &MediaCallId) -> Option<crate::media::CallMediaStats> {
        self.engine.stats(call)
    }

    fn listen(&self, call: &MediaCallId, leg: Leg, what: Listen) -> Result<(), MediaError> {
        let (events, id) = (self.events.clone(), call.clone());
        let report = move |leg, what| {
            let _ = events.send((id.clone(), MediaEvent::Detected { leg, what }));
        };
        self.engine.tap(
            call,
            leg,
            Box::new(ProgressTap::new(what, Box::new(report))),
        )
    }
}
