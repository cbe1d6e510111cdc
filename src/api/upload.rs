//! Large CSV request bodies (lead lists) read as they arrive: a [`BodyReader`] is a
//! blocking [`std::io::Read`] over an HTTP body, so the list importer's CSV parser, which
//! runs on a blocking thread, pulls the upload through a small bounded channel instead of
//! the whole file being held in memory first (a million-row list is ~100 MB).
//!
//! The importer reads the CSV header on the async task before it moves to its blocking
//! thread, where blocking on the channel would be a bug. So [`BodyReader::start`] first
//! collects, asynchronously, the body up to the end of the header line (a newline outside
//! quotes, RFC 4180 §2.6) plus at least one byte after it; reading the header never goes
//! past that prefix, and only the rows are read from the channel.

use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Body chunks buffered between the network and the parser.
const CHANNEL_CHUNKS: usize = 16;
/// A header line longer than this is refused.
pub const MAX_HEADER: usize = 1 << 20;

/// Why an upload could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The client's body failed (connection dropped, body limit passed).
    #[error("reading the request body failed: {0}")]
    Body(String),
    /// No end of the header line within [`MAX_HEADER`] bytes.
    #[error("the CSV header line is longer than {MAX_HEADER} bytes")]
    HeaderTooLong,
}

/// Whether the body broke off (client gone, body limit passed) after the reader started:
/// the parser sees such a failure as one unreadable row, the handler asks here.
#[derive(Debug, Clone, Default)]
pub struct BodyFailure(Arc<Mutex<Option<String>>>);

impl BodyFailure {
    /// The failure, if the body broke off.
    pub fn get(&self) -> Option<String> {
        self.0.lock().map(|f| f.clone()).unwrap_or(None)
    }

    fn set(&self, e: &str) {
        if let Ok(mut f) = self.0.lock() {
            f.get_or_insert_with(|| e.to_owned());
        }
    }
}

/// A blocking reader over an HTTP body (see the module docs).
#[derive(Debug)]
pub struct BodyReader {
    /// What has been received and not yet read.
    current: Bytes,
    rx: Option<mpsc::Receiver<Result<Bytes, String>>>,
    failure: BodyFailure,
}

impl BodyReader {
    /// Starts pumping `body` into a channel and waits until the CSV header line (and one
    /// byte more, or the end of the body) has arrived.
    pub async fn start(body: Body) -> Result<BodyReader, UploadError> {
        let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
        let mut stream = body.into_data_stream();
        tokio::spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                if tx.send(chunk.map_err(|e| e.to_string())).await.is_err() || failed {
                    return;
                }
            }
        });
        let mut prefix = Vec::new();
        let mut ended = false;
        while !header_complete(&prefix) {
            match rx.recv().await {
                Some(Ok(chunk)) => prefix.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(UploadError::Body(e)),
                None => {
                    ended = true;
                    break;
                }
            }
            if prefix.len() > MAX_HEADER && !header_complete(&prefix) {
                return Err(UploadError::HeaderTooLong);
            }
        }
        Ok(BodyReader {
            current: Bytes::from(prefix),
            rx: (!ended).then_some(rx),
            failure: BodyFailure::default(),
        })
    }

    /// A handle telling, once the reader is done, whether the body broke off.
    pub fn failure(&self) -> BodyFailure {
        self.failure.clone()
    }

    /// A reader over bytes already in memory.
    pub fn from_bytes(bytes: Bytes) -> BodyReader {
        BodyReader {
            current: bytes,
            rx: None,
            failure: BodyFailure::default(),
        }
    }
}

/// Whether `data` holds a whole first line (a newline outside quotes) and a byte after it.
fn header_complete(data: &[u8]) -> bool {
    let mut quoted = false;
    for (i, &b) in data.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return i + 1 < data.len(),
            _ => {}
        }
    }
    false
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            let Some(rx) = self.rx.as_mut() else {
                return Ok(0);
            };
            // Only ever reached on the importer's blocking thread (see the module docs).
            match rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.failure.set(&e);
                    return Err(std::io::Error::other(e));
                }
                None => self.rx = None,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_ends_at_a_newline_outside_quotes_with_a_byte_after_it() {
        assert!(!header_complete(b"phone,name"));
        assert!(!header_complete(b"phone,name\n"));
        assert!(header_complete(b"phone,name\n1"));
        assert!(header_complete(b"phone,name\r\n"));
        assert!(!header_complete(b"phone,\"na\nme\"\n"));
        assert!(header_complete(b"phone,\"na\nme\"\nx"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_streamed_body_reads_back_whole_with_the_header_in_the_prefix() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"pho")),
            Ok(Bytes::from_static(b"ne,name\n+1415")),
            Ok(Bytes::from_static(b"5550100,Ada\n")),
            Ok(Bytes::from_static(b"+14155550101,Bob\n")),
        ];
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let reader = BodyReader::start(body).await.expect("starts");
        assert!(reader.current.starts_with(b"phone,name\n+"));
        let text = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let mut s = String::new();
            reader.read_to_string(&mut s).map(|_| s)
        })
        .await
        .expect("joins")
        .expect("reads");
        assert_eq!(
            text,
            "phone,name\n+14155550100,Ada\n+14155550101,Bob\n".to_string()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_that_breaks_off_is_reported() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"phone\n+14155550100\n")),
            Err(std::io::Error::other("connection reset")),
        ];
        let reader = BodyReader::start(Body::from_stream(futures_util::stream::iter(chunks)))
            .await
            .expect("starts");
        let failure = reader.failure();
        assert_eq!(failure.get(), None);
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = reader;
            let mut s = String::new();
            reader.read_to_string(&mut s)
        })
        .await
        .expect("joins");
        assert!(read.is_err());
        assert!(failure
            .get()
            .is_some_and(|e| e.contains("connection reset")));
    }

    #[tokio::test]
    async fn a_header_only_body_needs_no_blocking_read() {
        let mut reader = BodyReader::start(Body::from("phone,name\n"))
            .await
            .expect("starts");
        let mut s = String::new();
        // On the async task: must not block (the body has ended).
        reader.read_to_string(&mut s).expect("reads");
        assert_eq!(s, "phone,name\n");
    }
}
