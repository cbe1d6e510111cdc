//! What the dialplan and the IVR name, turned into audio to play: a prompt name resolves to
//! a file under the configured prompts directory (`name` → `name.wav`, or a headerless
//! G.711 file `name.ulaw`/`.pcmu`/`.alaw`/`.pcma`; subdirectories allowed, e.g.
//! `en/welcome`), decoded once and kept ([`Prompt`]s are shared, cloning is free);
//! `tone:<name>` is a generated call-progress tone of the configured country's
//! [`ToneSet`]: `ringback`, `busy`, `congestion` (or `reorder`), `beep`, `silence`.
//!
//! Loading reads a file: call [`PromptLibrary::preload`] at start-up (or reload) so that
//! plays during calls find everything in memory. A name that would leave the directory
//! (absolute, or with `..`) is refused.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::audio::FrameSource;
use super::prompt::{self, Prompt, PromptError};
use super::tone::{Silence, Tone, ToneSet, ToneSpec, BEEP};
use super::MediaError;

/// File types tried, in order, for a name without extension.
const EXTENSIONS: [&str; 5] = ["wav", "ulaw", "pcmu", "alaw", "pcma"];

/// Prompts of one directory and the tones of one country.
pub struct PromptLibrary {
    dir: PathBuf,
    tones: ToneSet,
    loaded: Mutex<HashMap<String, Prompt>>,
}

impl PromptLibrary {
    pub fn new(dir: impl Into<PathBuf>, tones: ToneSet) -> Self {
        PromptLibrary {
            dir: dir.into(),
            tones,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// Load every prompt file under the directory (recursively); returns how many. Files
    /// that fail to decode are reported, not fatal: the rest still load.
    pub fn preload(&self) -> (usize, Vec<PromptError>) {
        let mut errors = Vec::new();
        let mut n = 0;
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.flatten().map(|e| e.path()) {
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let known = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
                let Some(name) = known.then(|| self.name_of(&path)).flatten() else {
                    continue;
                };
                match prompt::load(&path) {
                    Ok(p) => {
                        self.lock().insert(name, p);
                        n += 1;
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        (n, errors)
    }

    /// The audio `spec` names: a prompt (played once, or over and over if `looping`) or
    /// `tone:<name>` (ringback, busy and congestion repeat their cadence anyway).
    pub fn source(&self, spec: &str, looping: bool) -> Result<Box<dyn FrameSource>, MediaError> {
        if let Some(tone) = spec.strip_prefix("tone:") {
            return self.tone(tone, looping);
        }
        let prompt = self.prompt(spec)?;
        Ok(match looping {
            true => prompt.looping(),
            false => prompt.source(),
        })
    }

    /// The prompt `name`, loaded on first use.
    pub fn prompt(&self, name: &str) -> Result<Prompt, MediaError> {
        if let Some(p) = self.lock().get(name) {
            return Ok(p.clone());
        }
        let path = self.path_of(name)?;
        let p = prompt::load(&path)?;
        self.lock().insert(name.to_owned(), p.clone());
        Ok(p)
    }

    fn tone(&self, name: &str, looping: bool) -> Result<Box<dyn FrameSource>, MediaError> {
        let spec: ToneSpec = match name {
            "ringback" => self.tones.ringback,
            "busy" => self.tones.busy,
            "congestion" | "reorder" => self.tones.congestion,
            "beep" => BEEP,
            "silence" => return Ok(Box::new(Silence::endless())),
            _ => return Err(MediaError::NoSuchPrompt(format!("tone:{name}"))),
        };
        let spec = ToneSpec {
            repeat: spec.repeat || looping,
            ..spec
        };
        Ok(Box::new(Tone::new(&spec)))
    }

    /// The file of `name`: as given if it has an extension, else the first that exists.
    fn path_of(&self, name: &str) -> Result<PathBuf, MediaError> {
        let missing = || MediaError::NoSuchPrompt(name.to_owned());
        let rel = Path::new(name);
        let inside = rel.components().all(|c| matches!(c, Component::Normal(_)));
        if name.is_empty() || !inside {
            return Err(missing());
        }
        let base = self.dir.join(rel);
        if rel.extension().is_some() && base.is_file() {
            return Ok(base);
        }
        EXTENSIONS
            .iter()
            .map(|ext| {
                let mut p = base.clone().into_os_string();
                p.push(".");
                p.push(ext);
                PathBuf::from(p)
            })
            .find(|p| p.is_file())
            .ok_or_else(missing)
    }

    /// The name a file under the directory is played by: its path without extension.
    fn name_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.dir).ok()?.with_extension("");
        let parts: Vec<&str> = rel
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<_>>()?;
        Some(parts.join("/"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Prompt>> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::{Frame, FRAME_SAMPLES};
    use crate::media::tone::US;
    use crate::media::wav::{self, WavEncoding, WavFormat};

    fn write_wav(path: &Path, samples: &[i16]) {
        let fmt = WavFormat {
            encoding: WavEncoding::Pcm16,
            channels: 1,
            sample_rate: 8000,
        };
        let mut f = wav::header(fmt, (samples.len() * 2) as u32).to_vec();
        f.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, f).unwrap();
    }

    fn frames(mut s: Box<dyn FrameSource>, max: usize) -> usize {
        let mut f: Frame = [0; FRAME_SAMPLES];
        (0..max).take_while(|_| s.next_frame(&mut f)).count()
    }

    #[test]
    fn names_resolve_to_files_and_tones_to_generators() {
        let dir = tempfile::tempdir().unwrap();
        write_wav(&dir.path().join("welcome.wav"), &[100; 320]);
        write_wav(&dir.path().join("en/menu.wav"), &[200; 160]);
        std::fs::write(dir.path().join("hold.ulaw"), [0xffu8; 160]).unwrap();
        let lib = PromptLibrary::new(dir.path(), US);

        assert_eq!(frames(lib.source("welcome", false).unwrap(), 10), 2);
        assert_eq!(frames(lib.source("welcome", true).unwrap(), 10), 10);
        assert_eq!(lib.prompt("en/menu").unwrap().samples()[0], 200);
        assert_eq!(frames(lib.source("hold", false).unwrap(), 10), 1);
        assert_eq!(frames(lib.source("welcome.wav", false).unwrap(), 10), 2);
        // 0.5 s beep once, or over and over
        assert_eq!(frames(lib.source("tone:beep", false).unwrap(), 100), 25);
        assert_eq!(frames(lib.source("tone:beep", true).unwrap(), 100), 100);
        assert_eq!(
            frames(lib.source("tone:ringback", false).unwrap(), 400),
            400
        );
        for bad in ["nope", "tone:jingle", "../etc/passwd", "/etc/passwd", ""] {
            assert!(
                matches!(lib.source(bad, false), Err(MediaError::NoSuchPrompt(_))),
                "{bad}"
            );
        }
        std::fs::write(dir.path().join("broken.wav"), b"RIFF").unwrap();
        assert!(matches!(
            lib.source("broken", false),
            Err(MediaError::BadPrompt(_))
        ));
    }

    #[test]
    fn preload_reads_the_tree_once_and_plays_come_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        write_wav(&dir.path().join("a.wav"), &[1; 160]);
        write_wav(&dir.path().join("fr/b.wav"), &[2; 160]);
        std::fs::write(dir.path().join("c.wav"), b"garbage").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not audio").unwrap();
        let lib = PromptLibrary::new(dir.path(), US);
        let (n, errors) = lib.preload();
        assert_eq!((n, errors.len()), (2, 1));
        std::fs::remove_dir_all(dir.path()).unwrap();
        assert_eq!(lib.prompt("a").unwrap().samples()[0], 1);
        assert_eq!(lib.prompt("fr/b").unwrap().samples()[0], 2);
    }
}
