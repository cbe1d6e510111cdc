//! Call recording: both directions of a call to one stereo WAV file (8 kHz, 16-bit;
//! leg A's phone on the left channel, leg B's on the right), aligned in time.
//!
//! Alignment: the relay task keeps a small sample FIFO per side and, on its own 20 ms slot
//! clock (absolute deadlines from the moment recording started), takes one frame from each
//! side — silence where a side sent nothing — and writes them side by side. Audio lands in
//! the slot after it arrived, so both sides keep their real-time relation, the file's
//! duration is the wall-clock duration of the recording, and a burst from one side is
//! absorbed by its FIFO (bounded: the oldest samples go when it overflows). What the
//! switch plays to a leg (prompts, tones) is mixed into the *other* side's channel: it is
//! what that leg heard instead of its peer.
//!
//! File IO is off the relay task: a writer thread per recording, fed through a bounded
//! channel. A full channel drops the slot (counted) instead of blocking media.
//!
//! Crash safety: the header's RIFF and `data` sizes are rewritten every
//! [`HEADER_EVERY_FRAMES`] frames and when the recording ends; a file cut by a crash between
//! two rewrites has sizes smaller than its length, which [`repair_recordings`] (run by the
//! runtime at start-up) sets right.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::audio::{FRAME_DURATION, FRAME_SAMPLES, SAMPLE_RATE};
use super::wav::{self, WavEncoding, WavFormat};
use super::{Leg, MediaEvent};

/// Frames between two header rewrites (1 s of audio).
pub const HEADER_EVERY_FRAMES: u64 = 50;
/// Stereo frames the writer may lag behind the relay before slots are dropped (2 s).
pub const WRITER_QUEUE_FRAMES: usize = 100;
/// Samples a side may hold before its oldest are discarded (160 ms).
const FIFO_SAMPLES: usize = FRAME_SAMPLES * 8;
/// Slots written at once after a stall of the relay task; a longer stall is skipped over.
const MAX_CATCH_UP: u32 = 50;

/// The format of every recording.
pub const FORMAT: WavFormat = WavFormat {
    encoding: WavEncoding::Pcm16,
    channels: 2,
    sample_rate: SAMPLE_RATE,
};

/// One stereo slot: L, R interleaved.
type Slot = [i16; 2 * FRAME_SAMPLES];

/// A bounded ring of samples, allocated once.
struct SampleFifo {
    buf: Box<[i16]>,
    head: usize,
    len: usize,
}

impl SampleFifo {
    fn new() -> Self {
        SampleFifo {
            buf: vec![0; FIFO_SAMPLES].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// Append; when full, the oldest samples make room. Returns how many were discarded.
    fn push(&mut self, samples: &[i16]) -> usize {
        let cap = self.buf.len();
        let skipped = samples.len().saturating_sub(cap);
        let samples = &samples[skipped..];
        let overflow = (self.len + samples.len()).saturating_sub(cap);
        self.head = (self.head + overflow) % cap;
        self.len -= overflow;
        for &s in samples {
            self.buf[(self.head + self.len) % cap] = s;
            self.len += 1;
        }
        skipped + overflow
    }

    /// Take up to one frame into every other sample of `out` starting at `offset`
    /// (0 = left, 1 = right), mixing into what is there.
    fn take_into(&mut self, out: &mut Slot, offset: usize) {
        let n = self.len.min(FRAME_SAMPLES);
        let cap = self.buf.len();
        for k in 0..n {
            let s = self.buf[(self.head + k) % cap];
            let o = &mut out[2 * k + offset];
            *o = o.saturating_add(s);
        }
        self.head = (self.head + n) % cap;
        self.len -= n;
    }
}

/// The relay task's side of a recording: FIFOs and the slot clock. Sans-IO: time is
/// passed in; the file is the writer thread's.
pub(crate) struct Recorder {
    /// What each leg's phone sent, by leg index.
    heard: [SampleFifo; 2],
    /// What the switch played to each leg, by leg index (mixed into the other channel).
    played: [SampleFifo; 2],
    next: Instant,
    tx: SyncSender<Slot>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Start recording to `path` at `now`: spawns the writer thread, which creates the file
    /// and reports [`MediaEvent::RecordDone`] on `events` when the recording ends.
    pub(crate) fn start(
        path: &Path,
        now: Instant,
        events: mpsc::Sender<MediaEvent>,
    ) -> io::Result<Recorder> {
        let (tx, rx) = sync_channel(WRITER_QUEUE_FRAMES);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            path: path.to_owned(),
            rx,
            dropped: dropped.clone(),
            events,
        };
        std::thread::Builder::new()
            .name("sb-record".into())
            .stack_size(128 * 1024)
            .spawn(move || writer.run())?;
        Ok(Recorder {
            heard: [SampleFifo::new(), SampleFifo::new()],
            played: [SampleFifo::new(), SampleFifo::new()],
            next: now + FRAME_DURATION,
            tx,
            dropped,
        })
    }

    /// Decoded audio from `leg`'s phone.
    pub(crate) fn heard(&mut self, leg: Leg, samples: &[i16]) {
        self.heard[leg.index()].push(samples);
    }

    /// Audio the switch sent to `leg`'s phone.
    pub(crate) fn played(&mut self, leg: Leg, samples: &[i16]) {
        self.played[leg.index()].push(samples);
    }

    /// When the next slot is due.
    pub(crate) fn poll_timeout(&self) -> Instant {
        self.next
    }

    /// The next slot: a frame from each side (A's phone and what B heard on the left).
    fn slot(&mut self) -> Slot {
        let mut slot = [0i16; 2 * FRAME_SAMPLES];
        self.heard[0].take_into(&mut slot, 0);
        self.played[1].take_into(&mut slot, 0);
        self.heard[1].take_into(&mut slot, 1);
        self.played[0].take_into(&mut slot, 1);
        slot
    }

    /// Write every slot due at `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        let mut written = 0;
        while self.next <= now {
            if written == MAX_CATCH_UP {
                // a stall longer than the FIFOs hold: nothing left to align, skip over it
                let behind = now.saturating_duration_since(self.next);
                let slots = behind.as_nanos() / FRAME_DURATION.as_nanos() + 1;
                self.dropped.fetch_add(slots as u64, Relaxed);
                self.next += FRAME_DURATION * slots as u32;
                break;
            }
            let slot = self.slot();
            if let Err(TrySendError::Full(_)) = self.tx.try_send(slot) {
                self.dropped.fetch_add(1, Relaxed);
            }
            self.next += FRAME_DURATION;
            written += 1;
        }
    }
}

/// Slots written when the recording stops, to empty the FIFOs.
const MAX_FLUSH: usize = FIFO_SAMPLES / FRAME_SAMPLES;

impl Drop for Recorder {
    /// The audio already heard but not yet due goes in too: the FIFOs are flushed.
    fn drop(&mut self) {
        for _ in 0..MAX_FLUSH {
            if self.heard.iter().chain(&self.played).all(|f| f.len == 0) {
                break;
            }
            let slot = self.slot();
            if self.tx.try_send(slot).is_err() {
                self.dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

/// The writer thread: owns the file until the relay side drops its [`Recorder`].
struct Writer {
    path: PathBuf,
    rx: Receiver<Slot>,
    dropped: Arc<AtomicU64>,
    events: mpsc::Sender<MediaEvent>,
}

impl Writer {
    fn run(self) {
        let (frames, result) = self.write();
        if let Err(e) = &result {
            tracing::warn!(path = %self.path.display(), error = %e, "recording failed");
        }
        let _ = self.events.try_send(MediaEvent::RecordDone {
            frames,
            dropped: self.dropped.load(Relaxed),
            failed: result.is_err(),
        });
    }

    /// Returns the frames written, and how it ended.
    fn write(&self) -> (u64, io::Result<()>) {
        let mut frames = 0u64;
        let result = (|| {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            let file = File::create(&self.path)?;
            let mut out = BufWriter::with_capacity(32 * 1024, file);
            out.write_all(&wav::header(FORMAT, 0))?;
            let mut bytes = [0u8; 4 * FRAME_SAMPLES];
            // until the relay side hangs up (record_stop, call deleted)
            while let Ok(slot) = self.rx.recv() {
                for (b, s) in bytes.chunks_exact_mut(2).zip(slot) {
                    b.copy_from_slice(&s.to_le_bytes());
                }
                out.write_all(&bytes)?;
                frames += 1;
                if frames.is_multiple_of(HEADER_EVERY_FRAMES) {
                    write_sizes(&mut out, frames)?;
                }
            }
            write_sizes(&mut out, frames)?;
            out.flush()
        })();
        (frames, result)
    }
}

/// Flush the samples, then rewrite the two sizes in place and return to the end.
fn write_sizes(out: &mut BufWriter<File>, frames: u64) -> io::Result<()> {
    let data = u32::try_from(frames * 4 * FRAME_SAMPLES as u64).unwrap_or(u32::MAX);
    out.flush()?;
    let f = out.get_mut();
    f.seek(SeekFrom::Start(4))?;
    f.write_all(&wav::riff_size(data).to_le_bytes())?;
    f.seek(SeekFrom::Start(40))?;
    f.write_all(&data.to_le_bytes())?;
    f.seek(SeekFrom::End(0))?;
    Ok(())
}

/// Set right the header of every `.wav` file in `dir` and its subdirectories (a dialplan
/// may record into one) whose RIFF or `data` size disagrees with the file's length (a
/// recording cut by a crash or kill): the `data` chunk is taken to run to the end of the
/// file (a torn last sample frame is cut off). Returns the files repaired. Files that are
/// not WAV, or whose chunks are consistent, are left alone; a file or subdirectory that
/// cannot be read or written is logged and skipped. Symbolic links are not followed.
pub fn repair_recordings(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut fixed = Vec::new();
    let mut dirs = Vec::new();
    let mut entries = fs::read_dir(dir)?;
    loop {
        for entry in entries {
            let entry = entry?;
            let (path, kind) = (entry.path(), entry.file_type()?);
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            let is_wav = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
            if !is_wav || !kind.is_file() {
                continue;
            }
            match repair_file(&path) {
                Ok(true) => fixed.push(path),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "recording not repaired")
                }
            }
        }
        entries = loop {
            let Some(sub) = dirs.pop() else {
                fixed.sort();
                return Ok(fixed);
            };
            match fs::read_dir(&sub) {
                Ok(entries) => break entries,
                Err(e) => {
                    tracing::warn!(dir = %sub.display(), error = %e, "recordings not scanned")
                }
            }
        };
    }
}

/// Headers we look for chunks in: our files have them in the first 44 bytes.
const HEAD_SCAN: u64 = 64 * 1024;

/// Returns whether the file was changed.
fn repair_file(path: &Path) -> io::Result<bool> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    let mut head = Vec::new();
    (&mut f).take(HEAD_SCAN).read_to_end(&mut head)?;
    let Ok(parsed) = wav::parse(&head) else {
        return Ok(false);
    };
    let Some(data) = wav::chunks(&head).find(|c| &c.id == b"data") else {
        return Ok(false);
    };
    let body = data.body as u64;
    let remainder = len.saturating_sub(body);
    let declared = u64::from(data.declared);
    if declared < remainder && trailing_chunks_fit(&mut f, body + declared, len)? {
        // chunks after the samples (LIST, id3): another tool's file, consistent
        return riff_fix(&mut f, len);
    }
    let whole = remainder - remainder % parsed.format.block_align() as u64;
    let riff_ok = read_u32(&mut f, 4)? == u64::from(u64_to_u32(len.saturating_sub(8)));
    if declared == whole && whole == remainder && riff_ok {
        return Ok(false);
    }
    if whole < remainder {
        f.set_len(body + whole)?;
    }
    f.seek(SeekFrom::Start(body - 4))?;
    f.write_all(&u64_to_u32(whole).to_le_bytes())?;
    riff_fix(&mut f, body + whole)?;
    f.sync_data()?;
    Ok(true)
}

fn u64_to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn read_u32(f: &mut File, at: u64) -> io::Result<u64> {
    let mut b = [0u8; 4];
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(&mut b)?;
    Ok(u64::from(u32::from_le_bytes(b)))
}

/// Rewrite the RIFF size for a file of `len` bytes, if it is wrong; returns whether it was.
fn riff_fix(f: &mut File, len: u64) -> io::Result<bool> {
    let want = u64_to_u32(len.saturating_sub(8));
    if read_u32(f, 4)? == u64::from(want) {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(4))?;
    f.write_all(&want.to_le_bytes())?;
    Ok(true)
}

/// Whether well-formed chunks (printable ids) start at `at` (after pad) and end exactly at `len`.
fn trailing_chunks_fit(f: &mut File, mut at: u64, len: u64) -> io::Result<bool> {
    at += at & 1;
    let mut hdr = [0u8; 8];
    for _ in 0..16 {
        if at == len {
            return Ok(true);
        }
        if at + 8 > len {
            return Ok(false);
        }
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut hdr)?;
        if !hdr[..4].iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Ok(false);
        }
        let size = u64::from(u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]));
        at += 8 + size + (size & 1);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fifo_keeps_order_and_drops_the_oldest_when_full() {
        let mut f = SampleFifo::new();
        let ramp: Vec<i16> = (0..FIFO_SAMPLES as i16 + 10).collect();
        assert_eq!(f.push(&ramp), 10);
        let mut slot = [0i16; 2 * FRAME_SAMPLES];
        f.take_into(&mut slot, 1);
        assert_eq!(slot[1], 10, "oldest 10 dropped");
        assert_eq!(slot[3], 11);
        assert_eq!(slot[0], 0, "left untouched");
        assert_eq!(f.len, FIFO_SAMPLES - FRAME_SAMPLES);
    }

    fn recorder(now: Instant) -> (Recorder, Receiver<Slot>) {
        let (tx, rx) = sync_channel(4);
        let r = Recorder {
            heard: [SampleFifo::new(), SampleFifo::new()],
            played: [SampleFifo::new(), SampleFifo::new()],
            next: now + FRAME_DURATION,
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (r, rx)
    }

    #[test]
    fn slots_pair_the_sides_pad_with_silence_and_mix_played_audio_across() {
        let t0 = Instant::now();
        let (mut r, rx) = recorder(t0);
        r.heard(Leg::A, &[100; FRAME_SAMPLES]);
        r.played(Leg::A, &[7; 80]);
        r.on_timeout(t0 + Duration::from_millis(19));
        assert!(rx.try_recv().is_err(), "slot not due yet");
        r.on_timeout(t0 + Duration::from_millis(20));
        let slot = rx.try_recv().unwrap();
        assert_eq!((slot[0], slot[2 * 159]), (100, 100), "left = A's phone");
        assert_eq!((slot[1], slot[2 * 79 + 1]), (7, 7), "right = what A heard");
        assert_eq!(slot[2 * 80 + 1], 0, "silence after");
        // a late wake writes every due slot, silence where nobody spoke
        r.heard(Leg::B, &[-5; FRAME_SAMPLES]);
        r.on_timeout(t0 + Duration::from_millis(61));
        assert_eq!(rx.try_recv().unwrap()[1], -5);
        assert_eq!(rx.try_recv().unwrap(), [0; 2 * FRAME_SAMPLES]);
        assert!(rx.try_recv().is_err());
        assert_eq!(r.poll_timeout(), t0 + Duration::from_millis(80));
    }

    #[test]
    fn a_full_writer_queue_drops_slots_instead_of_blocking() {
        let t0 = Instant::now();
        let (mut r, _rx) = recorder(t0);
        r.on_timeout(t0 + Duration::from_millis(200));
        assert_eq!(r.dropped.load(Relaxed), 10 - 4);
    }

    fn write(path: &Path, data_len: u32, actual: usize) {
        let mut f = wav::header(FORMAT, data_len).to_vec();
        f.extend(std::iter::repeat_n(1u8, actual));
        fs::write(path, f).unwrap();
    }

    #[test]
    fn repair_sets_sizes_to_the_file_length_and_cuts_a_torn_frame() {
        let dir = tempfile::tempdir().unwrap();
        let (cut, torn, good, other) = (
            dir.path().join("cut.wav"),
            dir.path().join("torn.WAV"),
            dir.path().join("good.wav"),
            dir.path().join("notes.wav"),
        );
        let nested = dir.path().join("campaign-7").join("2026-11-24");
        fs::create_dir_all(&nested).unwrap();
        let deep = nested.join("deep.wav");
        write(&deep, 0, 640);
        write(&cut, 640, 640 * 3);
        write(&torn, 0, 640 + 2);
        write(&good, 640, 640);
        fs::write(&other, b"not a wave file at all, leave me").unwrap();
        let fixed = repair_recordings(dir.path()).unwrap();
        assert_eq!(fixed, {
            let mut v = vec![cut.clone(), torn.clone(), deep.clone()];
            v.sort();
            v
        });
        let bytes = fs::read(&cut).unwrap();
        assert_eq!(wav::parse(&bytes).unwrap().data.len(), 640 * 3);
        assert_eq!(&bytes[40..44], &(640u32 * 3).to_le_bytes());
        assert_eq!(&bytes[4..8], &(bytes.len() as u32 - 8).to_le_bytes());
        let bytes = fs::read(&torn).unwrap();
        assert_eq!(bytes.len(), 44 + 640, "torn stereo frame cut off");
        assert_eq!(
            &fs::read(&deep).unwrap()[40..44],
            &640u32.to_le_bytes(),
            "in a subdirectory"
        );
        assert_eq!(&bytes[40..44], &640u32.to_le_bytes());
        assert_eq!(
            fs::read(&other).unwrap(),
            b"not a wave file at all, leave me"
        );
        assert!(
            repair_recordings(dir.path()).unwrap().is_empty(),
            "idempotent"
        );
    }

    #[test]
    fn repair_leaves_chunks_after_the_samples_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tagged.wav");
        let mut f = wav::header(FORMAT, 4).to_vec();
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        let riff = (f.len() - 8) as u32;
        f[4..8].copy_from_slice(&riff.to_le_bytes());
        fs::write(&path, &f).unwrap();
        assert!(repair_recordings(dir.path()).unwrap().is_empty());
        assert_eq!(fs::read(&path).unwrap(), f);
    }

    #[tokio::test]
    async fn the_writer_produces_a_valid_file_and_reports_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.wav");
        let (tx, mut rx) = mpsc::channel(4);
        let t0 = Instant::now();
        let mut r = Recorder::start(&path, t0, tx).unwrap();
        r.heard(Leg::A, &[1000; FRAME_SAMPLES * 2]);
        r.heard(Leg::B, &[-1000; FRAME_SAMPLES]);
        r.on_timeout(t0 + Duration::from_millis(60));
        drop(r);
        let done = rx.recv().await.unwrap();
        assert_eq!(
            done,
            MediaEvent::RecordDone {
                frames: 3,
                dropped: 0,
                failed: false
            }
        );
        let bytes = fs::read(&path).unwrap();
        let wav = wav::parse(&bytes).unwrap();
        assert_eq!(wav.format, FORMAT);
        assert_eq!(wav.data.len(), 3 * 640);
        assert_eq!(&wav.data[..4], &[0xe8, 0x03, 0x18, 0xfc], "L 1000, R -1000");
        assert_eq!(&bytes[4..8], &(bytes.len() as u32 - 8).to_le_bytes());
    }

    #[tokio::test]
    async fn missing_directories_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("2026/11/24/rec.wav");
        let (tx, mut rx) = mpsc::channel(4);
        drop(Recorder::start(&path, Instant::now(), tx).unwrap());
        assert!(matches!(
            rx.recv().await.unwrap(),
            MediaEvent::RecordDone { failed: false, .. }
        ));
        assert!(wav::parse(&fs::read(&path).unwrap()).is_ok());
    }

    #[tokio::test]
    async fn an_unwritable_path_reports_a_failed_recording() {
        let (tx, mut rx) = mpsc::channel(4);
        let dir = tempfile::tempdir().unwrap();
        // a file where a directory would have to be
        fs::write(dir.path().join("file"), b"x").unwrap();
        let path = dir.path().join("file/rec.wav");
        drop(Recorder::start(&path, Instant::now(), tx).unwrap());
        assert!(matches!(
            rx.recv().await.unwrap(),
            MediaEvent::RecordDone { failed: true, .. }
        ));
    }
}
