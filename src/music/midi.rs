//! Standard MIDI Files through `midly`: a [`Song`] out as format 1 (a conductor track with
//! tempo and time signature, then one track per part with its name and program), and any
//! metrical SMF back in as a [`Song`].

use std::collections::HashMap;
use std::path::Path;

use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::score::{Note, Part, Song};
use super::{MusicError, check_tempo};

/// Ticks per quarter note in files we write: divisible by 3 and 4, so triplets and
/// sixteenths land on whole ticks.
pub const PPQ: u16 = 480;

/// The song as SMF bytes.
pub fn to_bytes(song: &Song) -> Result<Vec<u8>, MusicError> {
    check_tempo(song.tempo_bpm)?;
    let mut tracks: Vec<Vec<TrackEvent<'_>>> = Vec::new();
    let us_per_beat = (60_000_000.0 / song.tempo_bpm).round() as u32;
    let names: Vec<Vec<u8>> = song.parts.iter().map(|p| p.name.as_bytes().to_vec()).collect();
    tracks.push(vec![
        meta(0, MetaMessage::TrackName(b"seqlab jazz")),
        meta(0, MetaMessage::Tempo(u24::new(us_per_beat.min(0xFF_FFFF)))),
        // numerator, log2(denominator), MIDI clocks per click, 32nds per quarter
        meta(0, MetaMessage::TimeSignature(song.beats_per_bar, 2, 24, 8)),
        meta(0, MetaMessage::EndOfTrack),
    ]);
    for (part, name) in song.parts.iter().zip(&names) {
        if part.channel > 15 || part.program > 127 {
            return Err(MusicError::Invalid(format!("part {}: channel {} / program {} out of MIDI range", part.name, part.channel, part.program)));
        }
        let ch = u4::new(part.channel);
        // (tick, order, message): note-offs sort before note-ons at the same tick so a
        // repeated pitch is released before it is struck again.
        let mut events: Vec<(u64, u8, MidiMessage)> = Vec::new();
        for n in &part.notes {
            if n.pitch > 127 || !(n.start.is_finite() && n.duration.is_finite()) || n.start < 0.0 || n.duration <= 0.0 {
                return Err(MusicError::Invalid(format!("part {}: note {n:?} cannot be written to MIDI", part.name)));
            }
            let on = (n.start * PPQ as f64).round() as u64;
            let off = ((n.start + n.duration) * PPQ as f64).round().max(on as f64 + 1.0) as u64;
            let key = u7::new(n.pitch);
            events.push((on, 1, MidiMessage::NoteOn { key, vel: u7::new(n.velocity.clamp(1, 127)) }));
            events.push((off, 0, MidiMessage::NoteOff { key, vel: u7::new(0) }));
        }
        events.sort_by_key(|&(t, o, _)| (t, o));
        let mut track = vec![
            meta(0, MetaMessage::TrackName(name)),
            TrackEvent { delta: u28::new(0), kind: TrackEventKind::Midi { channel: ch, message: MidiMessage::ProgramChange { program: u7::new(part.program) } } },
        ];
        let mut last = 0u64;
        for (t, _, message) in events {
            let delta = t - last;
            if delta > 0x0FFF_FFFF {
                return Err(MusicError::Invalid("a gap between notes is too long for MIDI".into()));
            }
            track.push(TrackEvent { delta: u28::new(delta as u32), kind: TrackEventKind::Midi { channel: ch, message } });
            last = t;
        }
        track.push(meta(0, MetaMessage::EndOfTrack));
        tracks.push(track);
    }
    let smf = Smf { header: Header::new(Format::Parallel, Timing::Metrical(u15::new(PPQ))), tracks };
    let mut out = Vec::new();
    smf.write_std(&mut out).map_err(|e| MusicError::Invalid(format!("cannot encode MIDI: {e}")))?;
    Ok(out)
}

fn meta(delta: u32, m: MetaMessage<'_>) -> TrackEvent<'_> {
    TrackEvent { delta: u28::new(delta), kind: TrackEventKind::Meta(m) }
}

/// Writes the song atomically.
pub fn write(path: &Path, song: &Song) -> Result<(), MusicError> {
    let bytes = to_bytes(song)?;
    crate::atomic::write_atomic(path, &bytes).map_err(|source| MusicError::Io { path: path.to_path_buf(), source })
}

/// Reads an SMF file.
pub fn read(path: &Path) -> Result<Song, MusicError> {
    let bytes = std::fs::read(path).map_err(|source| MusicError::Io { path: path.to_path_buf(), source })?;
    parse(&bytes).map_err(|reason| MusicError::BadFile { path: path.to_path_buf(), reason })
}

/// Parses SMF bytes: one part per (track, channel) that has notes, named after the track.
/// Tempo is the first tempo event (120 if none); the time signature's numerator likewise (4).
pub fn parse(bytes: &[u8]) -> Result<Song, String> {
    if bytes.is_empty() {
        return Err("the file is empty, not a MIDI file".into());
    }
    check_chunks(bytes)?;
    let smf = Smf::parse(bytes).map_err(|e| format!("not a valid Standard MIDI File ({e})"))?;
    let ppq = match smf.header.timing {
        Timing::Metrical(t) if t.as_int() > 0 => t.as_int() as f64,
        Timing::Metrical(_) => return Err("the header gives 0 ticks per quarter note".into()),
        Timing::Timecode(..) => return Err("SMPTE-timed MIDI files are not supported; save it with beats (ticks per quarter note)".into()),
    };
    let mut tempo = None;
    let mut beats_per_bar = None;
    let mut parts: Vec<Part> = Vec::new();
    for (ti, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        let mut name = format!("track {ti}");
        let mut programs = [0u8; 16];
        // (channel, key) -> (start tick, velocity)
        let mut open: HashMap<(u8, u8), (u64, u8)> = HashMap::new();
        let mut by_channel: HashMap<u8, Vec<Note>> = HashMap::new();
        for ev in track {
            tick += ev.delta.as_int() as u64;
            match ev.kind {
                TrackEventKind::Meta(MetaMessage::Tempo(t)) if tempo.is_none() && t.as_int() > 0 => {
                    tempo = Some(60_000_000.0 / t.as_int() as f64)
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(n, ..)) if beats_per_bar.is_none() => beats_per_bar = Some(n),
                TrackEventKind::Meta(MetaMessage::TrackName(b)) => name = String::from_utf8_lossy(b).trim().to_string(),
                TrackEventKind::Midi { channel, message } => {
                    let ch = channel.as_int();
                    let mut close = |key: u8, open: &mut HashMap<(u8, u8), (u64, u8)>| {
                        if let Some((start, vel)) = open.remove(&(ch, key)) {
                            let dur = (tick - start) as f64 / ppq;
                            if dur > 0.0 {
                                by_channel.entry(ch).or_default().push(Note { pitch: key, start: start as f64 / ppq, duration: dur, velocity: vel });
                            }
                        }
                    };
                    match message {
                        MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                            // A re-strike without a note-off ends the sounding note first.
                            close(key.as_int(), &mut open);
                            open.insert((ch, key.as_int()), (tick, vel.as_int()));
                        }
                        MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => close(key.as_int(), &mut open),
                        MidiMessage::ProgramChange { program } => programs[ch as usize] = program.as_int(),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let mut channels: Vec<_> = by_channel.into_iter().collect();
        channels.sort_by_key(|(c, _)| *c);
        let several = channels.len() > 1;
        for (ch, mut notes) in channels {
            notes.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pitch.cmp(&b.pitch)));
            let name = if several { format!("{name} ch{ch}") } else { name.clone() };
            parts.push(Part { name, channel: ch, program: programs[ch as usize], notes });
        }
    }
    if parts.is_empty() {
        return Err("the MIDI file holds no notes".into());
    }
    let tempo_bpm = tempo.unwrap_or(120.0);
    check_tempo(tempo_bpm).map_err(|e| e.to_string())?;
    Ok(Song { tempo_bpm, beats_per_bar: beats_per_bar.filter(|&n| n > 0).unwrap_or(4), parts, progression: None })
}

/// midly reads a cut-off track leniently (as far as it goes); a file whose chunks claim
/// more bytes than it holds was truncated, and saying so beats playing half a song.
fn check_chunks(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"MThd") {
        return Err("not a valid Standard MIDI File (it does not start with MThd)".into());
    }
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 8) else {
            return Err(format!("the file is truncated: a chunk header at byte {at} is cut off"));
        };
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if at + 8 + len > bytes.len() {
            return Err(format!(
                "the file is truncated: a {:?} chunk at byte {at} declares {len} bytes, only {} remain",
                String::from_utf8_lossy(&head[..4]),
                bytes.len() - at - 8
            ));
        }
        at += 8 + len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song() -> Song {
        let n = |pitch, start, duration| Note { pitch, start, duration, velocity: 100 };
        Song {
            tempo_bpm: 140.0,
            beats_per_bar: 4,
            parts: vec![
                Part { name: "melody".into(), channel: 0, program: 66, notes: vec![n(60, 0.0, 0.5), n(60, 0.5, 0.25), n(67, 1.0 / 3.0, 1.0 / 3.0)] },
                Part { name: "bass".into(), channel: 2, program: 32, notes: vec![n(36, 0.0, 1.0), n(43, 1.0, 1.0)] },
            ],
            progression: None,
        }
    }

    /// Write then parse: same tempo, time signature, parts, programs and notes (times exact
    /// to a tick: 1/3 beat is 160 ticks at 480 PPQ).
    #[test]
    fn round_trip() {
        let s = song();
        let back = parse(&to_bytes(&s).unwrap()).unwrap();
        assert!((back.tempo_bpm - 140.0).abs() < 1e-3, "{}", back.tempo_bpm);
        assert_eq!(back.beats_per_bar, 4);
        assert_eq!(back.parts.len(), 2);
        for (a, b) in s.parts.iter().zip(&back.parts) {
            assert_eq!((a.name.as_str(), a.channel, a.program), (b.name.as_str(), b.channel, b.program));
            let mut an = a.notes.clone();
            an.sort_by(|x, y| x.start.total_cmp(&y.start));
            assert_eq!(an.len(), b.notes.len());
            for (x, y) in an.iter().zip(&b.notes) {
                assert_eq!(x.pitch, y.pitch);
                assert!((x.start - y.start).abs() < 1e-9 && (x.duration - y.duration).abs() < 1e-9, "{x:?} {y:?}");
            }
        }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(b"hello, this is text and not music").unwrap_err().contains("not a valid"));
        assert!(parse(b"RIFF....WAVEfmt ").unwrap_err().contains("MThd"));
        let bytes = to_bytes(&song()).unwrap();
        // Truncated in the middle of a track.
        assert!(parse(&bytes[..bytes.len() / 2]).unwrap_err().contains("truncated"));
        assert!(parse(&bytes[..bytes.len() - 1]).unwrap_err().contains("truncated"));
        assert!(parse(&bytes[..10]).is_err());
        // A valid file without notes.
        let empty = Song { parts: vec![], ..song() };
        assert!(parse(&to_bytes(&empty).unwrap()).unwrap_err().contains("no notes"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.mid");
        std::fs::write(&p, b"").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("empty.mid"));
        assert!(to_bytes(&Song { tempo_bpm: 0.0, ..song() }).is_err());
    }
}
