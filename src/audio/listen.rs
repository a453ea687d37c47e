//! The live path behind the microphone (see DESIGN.md):
//!
//! ```text
//! ring buffer (from the cpal callback) -> dsp thread: resample to the model rate, spectrogram
//!   -> bounded channel, one column per hop -> detector thread: model step with carried
//!   state, threshold -> events (try_send) for whoever draws or plays them
//! ```
//!
//! Neither thread ever waits on the consumer of the events: a slow GUI loses display
//! columns (counted), never audio. The dsp thread polls the ring buffer every few
//! milliseconds; the callback side never waits on it either.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, TrySendError, bounded};

use crate::dsp::{DspError, Spectrogram, SpectrogramConfig, StreamResampler};
use crate::models::ModelError;
use crate::models::trigger::detect::DetectorConfig;
use crate::models::trigger::model::TriggerNet;
use crate::models::trigger::run::Detector;
use crate::models::trigger::verify::VerifierStream;

/// What the detector thread does with each spectrogram column.
pub trait FrameDetector: Send + 'static {
    /// One column in (time `t` seconds from the start of the stream, at its end); returns
    /// the model's (time, probability) when it produced one for this column, and the time
    /// of a detection that fired.
    fn push(&mut self, t: f64, frame: &[f32]) -> (Option<(f64, f32)>, Option<f64>);
}

/// The trigger-word detector ([`Detector`]: the folded streaming network, the threshold /
/// run / refractory rule, and the verifier when there is one) as a [`FrameDetector`]. The
/// sensitivity is read from `sensitivity` (f32 bits) at every column, so a slider on
/// another thread takes effect at once.
pub struct TriggerDetector {
    detector: Detector,
    sensitivity: Arc<AtomicU32>,
}

impl TriggerDetector {
    pub fn new(net: &TriggerNet<f32>, config: DetectorConfig, verifier: Option<VerifierStream>, sensitivity: Arc<AtomicU32>) -> Result<Self, ModelError> {
        Ok(Self { detector: Detector::new(net, config, verifier)?, sensitivity })
    }
}

impl FrameDetector for TriggerDetector {
    fn push(&mut self, _t: f64, frame: &[f32]) -> (Option<(f64, f32)>, Option<f64>) {
        let s = f32::from_bits(self.sensitivity.load(Ordering::Relaxed));
        if s != self.detector.config().sensitivity {
            // An out-of-range value keeps the old setting rather than stopping detection.
            let _ = self.detector.set_config(DetectorConfig { sensitivity: s, ..self.detector.config().clone() });
        }
        match self.detector.push_frame(frame) {
            Some((t, p, fired)) => (Some((t, p)), fired.then_some(t)),
            None => (None, None),
        }
    }
}

/// What the live path reports.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveEvent {
    /// A spectrogram column, for a scrolling display.
    Column(Box<[f32]>),
    /// The detector's probability at `t` seconds.
    Probability { t: f64, p: f32 },
    /// The trigger word ended at about `t` seconds.
    Detection { t: f64 },
}

/// Counters shared with the threads.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Columns the detector thread had no room for (it fell behind the audio).
    pub columns_dropped: AtomicU64,
    /// Events the receiver had no room for (it fell behind the detector).
    pub events_dropped: AtomicU64,
    /// Columns the detector processed.
    pub columns: AtomicU64,
}

/// A running dsp thread and detector thread. Dropping it stops both and waits for them.
pub struct Listener {
    pub events: Receiver<LiveEvent>,
    pub stats: Arc<LiveStats>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Listener {
    /// Starts the threads on `samples` (mono at `rate` Hz, e.g. `Microphone::samples`).
    pub fn start(
        mut samples: rtrb::Consumer<f32>,
        rate: u32,
        spectrogram: SpectrogramConfig,
        mut detector: impl FrameDetector,
    ) -> Result<Self, DspError> {
        let mut resampler = StreamResampler::new(rate, spectrogram.sample_rate)?;
        let hop_seconds = spectrogram.hop_seconds();
        let mut spec = Spectrogram::new(spectrogram)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LiveStats::default());
        // Two seconds of columns between the threads; 256 events for the receiver.
        let (col_tx, col_rx) = bounded::<Box<[f32]>>((2.0 / hop_seconds) as usize + 1);
        let (ev_tx, events) = bounded::<LiveEvent>(256);

        let dsp_stop = Arc::clone(&stop);
        let dsp_stats = Arc::clone(&stats);
        let dsp = std::thread::Builder::new()
            .name("seqlab-dsp".into())
            .spawn(move || {
                let mut block = vec![0f32; 4096];
                let mut resampled = Vec::with_capacity(8192);
                while !dsp_stop.load(Ordering::Relaxed) {
                    let n = samples.slots().min(block.len());
                    if n == 0 {
                        if samples.is_abandoned() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    let Ok(chunk) = samples.read_chunk(n) else { continue };
                    let (a, b) = chunk.as_slices();
                    block[..a.len()].copy_from_slice(a);
                    block[a.len()..n].copy_from_slice(b);
                    chunk.commit_all();
                    resampled.clear();
                    resampler.push(&block[..n], |y| resampled.push(y));
                    spec.push(&resampled, |column| match col_tx.try_send(column.into()) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            dsp_stats.columns_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => {}
                    });
                }
                // Dropping `col_tx` ends the detector thread once it has drained the columns.
            })
            .map_err(|e| DspError::Invalid(format!("cannot start the dsp thread: {e}")))?;

        let det_stats = Arc::clone(&stats);
        let detector_thread = std::thread::Builder::new()
            .name("seqlab-detector".into())
            .spawn(move || {
                let send = |ev: LiveEvent| {
                    if let Err(TrySendError::Full(_)) = ev_tx.try_send(ev) {
                        det_stats.events_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                };
                let mut index = 0u64;
                for column in col_rx {
                    index += 1;
                    let t = index as f64 * hop_seconds;
                    let (p, fired) = detector.push(t, &column);
                    det_stats.columns.fetch_add(1, Ordering::Relaxed);
                    send(LiveEvent::Column(column));
                    if let Some((t, p)) = p {
                        send(LiveEvent::Probability { t, p });
                    }
                    if let Some(t) = fired {
                        send(LiveEvent::Detection { t });
                    }
                }
            })
            .map_err(|e| DspError::Invalid(format!("cannot start the detector thread: {e}")))?;
        Ok(Self { events, stats, stop, threads: vec![dsp, detector_thread] })
    }

    /// Stops both threads and waits for them (also done on drop).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            // A panicked worker has nothing left to clean up; the stop itself succeeded.
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::{resample, spectrogram::spectrogram};

    /// Fires whenever the first feature of a column exceeds a level; reports it as p.
    struct Loudness(f32);
    impl FrameDetector for Loudness {
        fn push(&mut self, t: f64, frame: &[f32]) -> (Option<(f64, f32)>, Option<f64>) {
            (Some((t, frame[0])), (frame[0] > self.0).then_some(t))
        }
    }

    /// Half a second of audio at 44.1 kHz through the ring buffer comes out as the columns
    /// of the offline spectrogram of the offline-resampled audio, in order, and a detector
    /// sees every one of them.
    #[test]
    fn live_path_equals_offline_spectrogram() {
        let rate = 44_100;
        let x: Vec<f32> = (0..rate as usize / 2).map(|i| (i as f32 * 0.07).sin() * (1.0 + (i % 300) as f32 / 300.0) * 0.3).collect();
        let cfg = SpectrogramConfig::default();
        let want = spectrogram(&resample(&x, rate, cfg.sample_rate).unwrap(), &cfg).unwrap();
        let (mut producer, consumer) = rtrb::RingBuffer::new(x.len());
        let mut listener = Listener::start(consumer, rate, cfg, Loudness(f32::INFINITY)).unwrap();
        for chunk in x.chunks(441) {
            producer.push_entire_slice(chunk).unwrap();
        }
        drop(producer); // end of input: the threads drain and stop
        let columns: Vec<Box<[f32]>> = listener
            .events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::Column(c) => Some(c),
                _ => None,
            })
            .collect();
        listener.stop();
        // The stream holds back the resampler's look-ahead, so it may end a column early.
        assert!(columns.len() + 1 >= want.nrows() && columns.len() <= want.nrows(), "{} of {}", columns.len(), want.nrows());
        for (got, row) in columns.iter().zip(want.rows()) {
            let err = got.iter().zip(row).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err < 1e-3, "column differs by {err}");
        }
        assert_eq!(listener.stats.columns.load(Ordering::Relaxed), columns.len() as u64);
    }

    /// The live path with the trigger network gives the probabilities, at the same times, that
    /// the offline file pipeline gives for the same audio (an untrained network: the test is
    /// about the plumbing, not the weights).
    #[test]
    fn live_trigger_equals_the_file_pipeline() {
        use crate::models::trigger::model::TriggerConfig;
        use crate::models::trigger::run::Pipeline;
        let net = TriggerNet::<f32>::new(TriggerConfig::small(), 3).unwrap();
        let x: Vec<f32> = (0..24_000).map(|i| ((i * 7919 % 2000) as f32 / 1000.0 - 1.0) * 0.2).collect();
        let mut want = Vec::new();
        let mut pipeline = Pipeline::new(&net, DetectorConfig::default(), None).unwrap();
        pipeline.push(&x, |t, p, _| want.push((t, p)));
        let sensitivity = Arc::new(AtomicU32::new(DetectorConfig::default().sensitivity.to_bits()));
        let detector = TriggerDetector::new(&net, DetectorConfig::default(), None, sensitivity).unwrap();
        let (mut producer, consumer) = rtrb::RingBuffer::new(x.len());
        let listener = Listener::start(consumer, 16_000, SpectrogramConfig::default(), detector).unwrap();
        producer.push_entire_slice(&x).unwrap();
        drop(producer);
        let got: Vec<(f64, f32)> = listener
            .events
            .iter()
            .filter_map(|e| match e {
                LiveEvent::Probability { t, p } => Some((t, p)),
                _ => None,
            })
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want);
    }
}
