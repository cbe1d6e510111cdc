//! RIFF/WAVE as telephony uses it: reading the `fmt ` and `data` chunks of prompt files
//! (PCM 16-bit, G.711 A-law and µ-law: format tags 1, 6, 7 and WAVE_FORMAT_EXTENSIBLE
//! carrying one of them) and writing the canonical 44-byte header of our recordings.
//!
//! Reading is a borrowed view over the file's bytes; it never panics on a damaged file. A
//! `data` chunk whose size runs past the end of the file (a recording cut short, or a
//! streaming writer's 0xFFFFFFFF) is read up to the end of the file.

/// Length of the canonical header we write: RIFF + `fmt ` (16) + `data` chunk header.
pub const HEADER_LEN: usize = 44;

/// How the samples in a WAV file are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// Linear PCM, 16-bit little-endian (format tag 1).
    Pcm16,
    /// ITU G.711 A-law, 8-bit (format tag 6).
    Alaw,
    /// ITU G.711 µ-law, 8-bit (format tag 7).
    Ulaw,
}

impl WavEncoding {
    pub fn format_tag(self) -> u16 {
        match self {
            WavEncoding::Pcm16 => 1,
            WavEncoding::Alaw => 6,
            WavEncoding::Ulaw => 7,
        }
    }
    pub fn bits_per_sample(self) -> u16 {
        match self {
            WavEncoding::Pcm16 => 16,
            WavEncoding::Alaw | WavEncoding::Ulaw => 8,
        }
    }
}

/// The `fmt ` chunk, as far as we use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub encoding: WavEncoding,
    pub channels: u16,
    pub sample_rate: u32,
}

impl WavFormat {
    /// Bytes per sample frame (all channels).
    pub fn block_align(&self) -> usize {
        usize::from(self.channels) * usize::from(self.encoding.bits_per_sample() / 8)
    }
}

/// Why bytes are not a WAV file we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("no `fmt ` chunk before the `data` chunk")]
    NoFormat,
    #[error("no `data` chunk")]
    NoData,
    #[error("`fmt ` chunk too short ({0} bytes)")]
    ShortFormat(usize),
    #[error("unsupported WAV format tag {tag:#06x} with {bits} bits per sample")]
    UnsupportedFormat { tag: u16, bits: u16 },
    #[error("{0} channels")]
    BadChannels(u16),
}

/// A parsed WAV file over its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Wav<'a> {
    pub format: WavFormat,
    /// The sample bytes, cut to whole sample frames.
    pub data: &'a [u8],
    /// Where the sample bytes start in the file.
    pub data_offset: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// One chunk: its id, where its body starts, and the size its header declares.
pub(crate) struct Chunk {
    pub id: [u8; 4],
    pub body: usize,
    pub declared: u32,
}

/// The chunks after the RIFF header, in file order. Stops at the first truncated header.
pub(crate) fn chunks(bytes: &[u8]) -> impl Iterator<Item = Chunk> + '_ {
    let mut at = 12usize;
    std::iter::from_fn(move || {
        let id: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        let declared = u32_at(bytes, at + 4)?;
        let body = at + 8;
        // RIFF chunks are padded to even length (a `data` chunk running to EOF ends the walk)
        let size = usize::try_from(declared).unwrap_or(usize::MAX);
        at = body.saturating_add(size).saturating_add(size & 1);
        Some(Chunk { id, body, declared })
    })
}

/// True when the bytes start with a RIFF/WAVE header.
pub fn is_wave(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

fn parse_format(fmt: &[u8]) -> Result<WavFormat, WavError> {
    if fmt.len() < 16 {
        return Err(WavError::ShortFormat(fmt.len()));
    }
    let mut tag = u16_at(fmt, 0).ok_or(WavError::ShortFormat(fmt.len()))?;
    let channels = u16_at(fmt, 2).ok_or(WavError::ShortFormat(fmt.len()))?;
    let sample_rate = u32_at(fmt, 4).ok_or(WavError::ShortFormat(fmt.len()))?;
    let bits = u16_at(fmt, 14).ok_or(WavError::ShortFormat(fmt.len()))?;
    if tag == 0xfffe {
        // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID
        tag = u16_at(fmt, 24).ok_or(WavError::ShortFormat(fmt.len()))?;
    }
    let encoding = match (tag, bits) {
        (1, 16) => WavEncoding::Pcm16,
        (6, 8) => WavEncoding::Alaw,
        (7, 8) => WavEncoding::Ulaw,
        (tag, bits) => return Err(WavError::UnsupportedFormat { tag, bits }),
    };
    if channels == 0 || channels > 8 {
        return Err(WavError::BadChannels(channels));
    }
    Ok(WavFormat {
        encoding,
        channels,
        sample_rate,
    })
}

/// Read a WAV file's format and sample bytes.
pub fn parse(bytes: &[u8]) -> Result<Wav<'_>, WavError> {
    if !is_wave(bytes) {
        return Err(WavError::NotWave);
    }
    let mut format = None;
    for c in chunks(bytes) {
        match &c.id {
            b"fmt " => {
                let end = c.body.saturating_add(c.declared as usize).min(bytes.len());
                format = Some(parse_format(bytes.get(c.body..end).unwrap_or(&[]))?);
            }
            b"data" => {
                let format = format.ok_or(WavError::NoFormat)?;
                let end = c.body.saturating_add(c.declared as usize).min(bytes.len());
                let body = bytes.get(c.body..end).unwrap_or(&[]);
                let whole = body.len() - body.len() % format.block_align();
                return Ok(Wav {
                    format,
                    data: &body[..whole],
                    data_offset: c.body,
                });
            }
            _ => {}
        }
    }
    Err(WavError::NoData)
}

/// The canonical 44-byte header for `data_len` bytes of samples.
pub fn header(format: WavFormat, data_len: u32) -> [u8; HEADER_LEN] {
    let block_align = format.block_align() as u16;
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_size(data_len).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&format.encoding.format_tag().to_le_bytes());
    h[22..24].copy_from_slice(&format.channels.to_le_bytes());
    h[24..28].copy_from_slice(&format.sample_rate.to_le_bytes());
    let byte_rate = format.sample_rate * u32::from(block_align);
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&format.encoding.bits_per_sample().to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// The RIFF chunk size for a canonical file with `data_len` sample bytes.
pub fn riff_size(data_len: u32) -> u32 {
    data_len.saturating_add(HEADER_LEN as u32 - 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono16(rate: u32) -> WavFormat {
        WavFormat {
            encoding: WavEncoding::Pcm16,
            channels: 1,
            sample_rate: rate,
        }
    }

    #[test]
    fn header_round_trips_through_parse() {
        let mut file = header(mono16(8000), 6).to_vec();
        file.extend_from_slice(&[1, 0, 2, 0, 3, 0]);
        let wav = parse(&file).unwrap();
        assert_eq!(wav.format, mono16(8000));
        assert_eq!(wav.data, &[1, 0, 2, 0, 3, 0]);
        assert_eq!(wav.data_offset, HEADER_LEN);
        assert_eq!(u32_at(&file, 4), Some(file.len() as u32 - 8));
        assert_eq!(u32_at(&file, 28), Some(16000), "byte rate");
    }

    #[test]
    fn extra_chunks_extensible_format_and_odd_padding_are_read() {
        let mut file = b"RIFF\0\0\0\0WAVE".to_vec();
        // an odd-sized LIST chunk, padded
        file.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        let mut fmt = vec![0xfe, 0xff, 1, 0];
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&[1, 0, 8, 0, 22, 0, 8, 0, 4, 0, 0, 0]);
        fmt.extend_from_slice(&[
            7, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
        ]);
        file.extend_from_slice(b"fmt ");
        file.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        file.extend_from_slice(&fmt);
        file.extend_from_slice(b"data\x02\0\0\0\xff\x7f");
        let wav = parse(&file).unwrap();
        assert_eq!(wav.format.encoding, WavEncoding::Ulaw);
        assert_eq!(wav.data, b"\xff\x7f");
    }

    #[test]
    fn a_data_size_past_the_end_reads_to_the_end_in_whole_frames() {
        let stereo = WavFormat {
            channels: 2,
            ..mono16(8000)
        };
        let mut file = header(stereo, u32::MAX).to_vec();
        file.extend_from_slice(&[0u8; 4 * 3 + 3]);
        let wav = parse(&file).unwrap();
        assert_eq!(wav.data.len(), 12, "a torn last frame is dropped");
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        assert_eq!(parse(b"").unwrap_err(), WavError::NotWave);
        assert_eq!(parse(b"RIFF\0\0\0\0WAVE").unwrap_err(), WavError::NoData);
        assert_eq!(
            parse(b"RIFF\0\0\0\0WAVEdata\x02\0\0\0ab").unwrap_err(),
            WavError::NoFormat
        );
        assert_eq!(
            parse(b"RIFF\0\0\0\0WAVEfmt \x04\0\0\0\x01\0\x01\0").unwrap_err(),
            WavError::ShortFormat(4)
        );
        let mut mp3 = header(mono16(8000), 0);
        mp3[20] = 0x55;
        assert!(matches!(
            parse(&mp3),
            Err(WavError::UnsupportedFormat { tag: 0x55, .. })
        ));
        // every truncation of a valid file parses or errs, never panics
        let mut file = header(mono16(8000), 4).to_vec();
        file.extend_from_slice(&[1, 2, 3, 4]);
        for n in 0..file.len() {
            let _ = parse(&file[..n]);
        }
    }
}
