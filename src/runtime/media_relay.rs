//! The production [`MediaControl`]: the relay engine, plus a forwarder per call that
//! carries the relay's events (media timeout, DTMF) to the core task, where the switch
//! acts on them. Allocation binds sockets and `release` deletes the session in the
//! background, so nothing here waits on the signalling path.

use tokio::sync::mpsc;

use crate::b2bua::media::MediaControl;
use crate::media::{
    Leg, LocalEndpoint, MediaCallId, MediaEngine, MediaError, MediaEvent, RemoteMedia,
};

pub struct EngineRelay {
    pub engine: MediaEngine,
    pub events: mpsc::UnboundedSender<(MediaCallId, MediaEvent)>,
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
        _call: &MediaCallId,
        _leg: Leg,
        _prompt: &str,
        _looping: bool,
        _id: u64,
    ) -> Result<(), MediaError> {
        Err(MediaError::NotSupported("play prompts"))
    }

    fn stop_play(&self, _call: &MediaCallId, _leg: Leg) {}

    fn stats(&self, call: &MediaCallId) -> Option<crate::media::CallMediaStats> {
        self.engine.stats(call)
    }

    fn record(&self, _call: &MediaCallId, _file: Option<&str>) -> Result<(), MediaError> {
        Err(MediaError::NotSupported("record"))
    }
}
