//! The Weimar Jazz Database solos: `score_csv.zip` (one `<name>_solo.csv` per solo, rows of
//! MIDI pitch, onset in seconds, duration in seconds) and `df_solos.csv` (per-solo metadata,
//! of which the average tempo matters here: it turns seconds into beats).
//!
//! The files carry no chords, key or beat positions; `models::jazz::data` estimates those.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::MusicError;

/// One note of a transcription, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimedNote {
    pub pitch: u8,
    pub onset: f64,
    pub duration: f64,
}

/// One transcribed solo with what `df_solos.csv` says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Solo {
    /// The base name, e.g. `ArtPepper_Anthropology_FINAL`.
    pub name: String,
    pub performer: String,
    pub title: String,
    pub tempo_bpm: f64,
    pub notes: Vec<TimedNote>,
}

/// Solo metadata by base name: (avgtempo, performer, title).
pub fn parse_metadata(text: &str) -> Result<HashMap<String, (f64, String, String)>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("the metadata file is empty")?.split(',').map(str::trim).collect();
    let col = |name: &str| header.iter().position(|h| *h == name).ok_or(format!("the metadata has no '{name}' column"));
    let (c_tempo, c_name) = (col("avgtempo")?, col("base_name")?);
    let c_perf = col("performer").ok();
    let c_title = col("title").ok();
    let mut out = HashMap::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let get = |c: usize| f.get(c).map(|s| s.trim()).ok_or(format!("metadata line {} has too few fields", i + 2));
        let tempo: f64 = get(c_tempo)?.parse().map_err(|_| format!("metadata line {}: avgtempo {:?} is not a number", i + 2, f.get(c_tempo)))?;
        let perf = c_perf.and_then(|c| f.get(c)).unwrap_or(&"").to_string();
        let title = c_title.and_then(|c| f.get(c)).unwrap_or(&"").to_string();
        out.insert(get(c_name)?.to_string(), (tempo, perf, title));
    }
    Ok(out)
}

/// Parses one solo CSV (no header; pitch, onset s, duration s). Rows must be numbers with
/// a pitch 0..=127, a finite onset ≥ 0 and a positive duration.
pub fn parse_solo_csv(text: &str) -> Result<Vec<TimedNote>, String> {
    let mut notes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 3 {
            return Err(format!("line {}: expected pitch,onset,duration, got {line:?}", i + 1));
        }
        let num = |s: &str, what: &str| s.parse::<f64>().map_err(|_| format!("line {}: {what} {s:?} is not a number", i + 1));
        let (pitch, onset, duration) = (num(f[0], "pitch")?, num(f[1], "onset")?, num(f[2], "duration")?);
        if !(0.0..=127.0).contains(&pitch) || pitch.fract() != 0.0 {
            return Err(format!("line {}: pitch {pitch} is not a MIDI note 0..=127", i + 1));
        }
        if !(onset.is_finite() && onset >= 0.0 && duration.is_finite() && duration > 0.0 && duration < 600.0) {
            return Err(format!("line {}: onset {onset} / duration {duration} are not a note's times", i + 1));
        }
        notes.push(TimedNote { pitch: pitch as u8, onset, duration });
    }
    if notes.is_empty() {
        return Err("no notes".into());
    }
    notes.sort_by(|a, b| a.onset.total_cmp(&b.onset));
    Ok(notes)
}

/// Reads every solo in `zip_path` that `meta_path` gives a tempo for, sorted by name.
/// Returns the solos and how many CSVs were skipped for lack of a tempo.
pub fn read_corpus(zip_path: &Path, meta_path: &Path) -> Result<(Vec<Solo>, usize), MusicError> {
    let bad = |p: &Path, reason: String| MusicError::BadFile { path: p.to_path_buf(), reason };
    let meta_text = std::fs::read_to_string(meta_path).map_err(|source| MusicError::Io { path: meta_path.to_path_buf(), source })?;
    let meta = parse_metadata(&meta_text).map_err(|r| bad(meta_path, r))?;
    let file = std::fs::File::open(zip_path).map_err(|source| MusicError::Io { path: zip_path.to_path_buf(), source })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(zip_path, format!("not a readable zip archive ({e})")))?;
    let mut solos = Vec::new();
    let mut skipped = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(zip_path, format!("entry {i}: {e}")))?;
        let entry_name = entry.name().map_err(|e| bad(zip_path, format!("entry {i}: {e}")))?.to_string();
        let Some(base) = entry_name.rsplit('/').next().and_then(|n| n.strip_suffix("_solo.csv")) else { continue };
        let Some((tempo, performer, title)) = meta.get(base).cloned() else {
            skipped += 1;
            continue;
        };
        // Guards a hostile archive: no transcription is anywhere near 16 MB.
        if entry.size() > 16 << 20 {
            return Err(bad(zip_path, format!("{entry_name} is {} bytes, too big for a solo", entry.size())));
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).map_err(|e| bad(zip_path, format!("{entry_name}: {e}")))?;
        let notes = parse_solo_csv(&text).map_err(|r| bad(zip_path, format!("{entry_name}: {r}")))?;
        solos.push(Solo { name: base.to_string(), performer, title, tempo_bpm: tempo, notes });
    }
    if solos.is_empty() {
        return Err(bad(zip_path, "no solo in the archive has a tempo in the metadata".into()));
    }
    solos.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((solos, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_rows_and_rejects_junk() {
        let n = parse_solo_csv("6.5e+01,1.5,0.25\n60,0.5,0.1\n").unwrap();
        assert_eq!(n[0], TimedNote { pitch: 60, onset: 0.5, duration: 0.1 });
        assert_eq!(n[1].pitch, 65);
        assert!(parse_solo_csv("").unwrap_err().contains("no notes"));
        assert!(parse_solo_csv("60,0.5").unwrap_err().contains("line 1"));
        assert!(parse_solo_csv("sixty,0.5,1").unwrap_err().contains("not a number"));
        assert!(parse_solo_csv("200,0.5,1").unwrap_err().contains("0..=127"));
        assert!(parse_solo_csv("60,0.5,-1").is_err());
        assert!(parse_solo_csv("\u{0}\u{1}binary").is_err());
    }

    /// A two-entry zip built here: one solo with a tempo, one without (skipped).
    #[test]
    fn reads_a_small_corpus() {
        let dir = tempfile::tempdir().unwrap();
        let zp = dir.path().join("s.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zp).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("A_x_FINAL_solo.csv", opts).unwrap();
        w.write_all(b"60,0.0,0.5\n62,0.5,0.5\n").unwrap();
        w.start_file("B_y_FINAL_solo.csv", opts).unwrap();
        w.write_all(b"60,0.0,0.5\n").unwrap();
        w.finish().unwrap();
        let mp = dir.path().join("m.csv");
        std::fs::write(&mp, ",avgtempo,base_name,performer,title\nA_x_FINAL,120.0,A_x_FINAL,A,x\n").unwrap();
        let (solos, skipped) = read_corpus(&zp, &mp).unwrap();
        assert_eq!((solos.len(), skipped), (1, 1));
        assert_eq!(solos[0].tempo_bpm, 120.0);
        assert_eq!(solos[0].notes.len(), 2);
        // Not a zip at all.
        std::fs::write(&zp, b"not a zip").unwrap();
        assert!(read_corpus(&zp, &mp).unwrap_err().to_string().contains("zip"));
        std::fs::write(&mp, "").unwrap();
        assert!(read_corpus(&zp, &mp).unwrap_err().to_string().contains("empty"));
    }
}
