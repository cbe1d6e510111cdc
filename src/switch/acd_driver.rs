//! Queues and agents inside the switch: what calls report ([`QueueNotice`]) goes to the
//! ACD, and the ACD's decisions are carried out on calls (ring an agent, bridge, release,
//! announce, overflow).

use crate::b2bua::{CallKey, Now, QueueNotice};

use super::Switch;

impl Switch {
    /// Feeds what calls reported into the ACD.
    pub(super) fn feed_acd(&mut self, now: Now, notices: Vec<QueueNotice>) {
        for notice in notices {
            if let QueueNotice::Join { key, queue, .. } = notice {
                tracing::warn!(queue, "no ACD configured: the call leaves the queue");
                self.leave_queue(now, key, "NOACD");
            }
        }
    }

    fn leave_queue(&mut self, now: Now, key: CallKey, status: &str) {
        self.with_calls(now, |calls, io| {
            calls.act(io, key, |c, io| c.queue_leave(io, status, None))
        });
    }
}
