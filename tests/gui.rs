#![cfg(feature = "gui")]
//! The GUI driven headless through egui_kittest: what a user clicks, what they then see.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use seqlab::gui::{App, DatesPanel, DinosPanel, EmojifyPanel, JazzPanel, Panel, TextPanel};
use seqlab::models::charlm::{CharLm, CharLmConfig};
use seqlab::models::text;
use seqlab::nn::CellKind;

/// Steps `harness` until `done` holds, for at most `limit`, so a stuck worker fails the
/// test instead of hanging it.
fn step_until<S>(harness: &mut Harness<'_, S>, limit: Duration, mut done: impl FnMut(&Harness<'_, S>) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        harness.step();
        if done(harness) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn panel_harness<P: Panel>(panel: P) -> Harness<'static, P> {
    Harness::builder().with_size([1000.0, 1400.0]).allow_missing_glyphs().build_ui_state(|ui, p: &mut P| p.ui(ui), panel)
}

#[test]
fn shell_lists_the_panels_and_switches_between_them() {
    let mut harness = Harness::builder().with_size([1100.0, 750.0]).allow_missing_glyphs().build_ui_state(|ui, app: &mut App| app.ui(ui), App::new());
    harness.run_steps(2);
    harness.get_by_label("Dinosaur Island");
    harness.get_by_label("Text generation");
    harness.get_by_label("Dates");
    assert!(harness.query_by_label("Generate").is_some(), "Dinosaur Island is shown first");
    assert!(harness.query_by_label("Write").is_none());

    harness.get_by_label("Text generation").click();
    harness.run_steps(3);
    assert!(harness.query_by_label("Write").is_some());
    assert!(harness.query_by_label("Generate").is_none());

    harness.get_by_label("Dinosaur Island").click();
    harness.run_steps(3);
    assert!(harness.query_by_label("Generate").is_some());
}

#[test]
fn generate_lists_ten_names() {
    let mut harness = panel_harness(DinosPanel::new());
    harness.run_steps(2);
    harness.get_by_label("Generate").click();
    harness.run_steps(3);
    let names = harness.state().names().to_vec();
    assert_eq!(names.len(), 10);
    for name in &names {
        assert!(name.chars().all(|c| c.is_alphabetic()), "odd name {name:?}");
        if !name.is_empty() {
            assert!(harness.query_all_by_label(name).next().is_some(), "{name:?} is not shown");
        }
    }
}

#[test]
fn training_shows_a_summary_and_uses_the_new_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("names.txt");
    let syllables = ["ra", "to", "sau", "rus", "don", "ce", "pha", "lo", "mi", "tan"];
    let names: Vec<String> = (0..60).map(|i| format!("{}{}{}", syllables[i % 10], syllables[(i / 10 + 3) % 10], syllables[(i * 7) % 10])).collect();
    std::fs::write(&path, names.join("\n")).expect("write names");

    let mut harness = panel_harness(DinosPanel::new().with_data_path(&path).with_iterations(200));
    harness.run_steps(2);
    harness.get_by_label("Train").click();
    let done = step_until(&mut harness, Duration::from_secs(30), |h| h.query_by_label_contains("Trained 200 iterations").is_some());
    assert!(done, "no summary within 30 s");
    assert!(harness.query_by_label("Train").is_some(), "Train is offered again");
    harness.get_by_label("Generate").click();
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("the model you trained").is_some());
    assert_eq!(harness.state().names().len(), 10);
}

#[test]
fn a_missing_names_file_is_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-file.txt");
    let mut harness = panel_harness(DinosPanel::new().with_data_path(&missing));
    harness.run_steps(2);
    harness.get_by_label("Train").click();
    let shown = step_until(&mut harness, Duration::from_secs(10), |h| h.query_by_label_contains("no-such-file.txt").is_some() && h.query_by_label("Train").is_some());
    assert!(shown, "no error for the missing file");
}

/// An untrained model over the default prompt's characters: enough to exercise writing
/// whether or not the shipped text model is built yet.
fn tiny_text_model() -> CharLm {
    let vocab = text::vocab_of("ROMEO.\nBut soft, what light through yonder window breaks?");
    let cfg = CharLmConfig { cell: CellKind::Lstm, hidden: 16, layers: 1 };
    CharLm::new(text::TASK, vocab, cfg, 0).expect("tiny model")
}

#[test]
fn the_shipped_text_model_or_its_error_is_shown() {
    let mut harness = panel_harness(TextPanel::new());
    harness.run_steps(2);
    match text::load_model(None) {
        Ok(_) => assert!(harness.query_by_label("Write").is_some()),
        Err(e) => assert!(harness.query_by_label_contains(&e.to_string()).is_some(), "load error not shown"),
    }
}

#[test]
fn write_continues_the_prompt() {
    let mut harness = panel_harness(TextPanel::new().with_model(tiny_text_model()).with_length(40));
    harness.run_steps(2);
    harness.get_by_label("Write").click();
    let prompt_len = "ROMEO.\nBut soft, what light".chars().count();
    let done = step_until(&mut harness, Duration::from_secs(30), |h| h.query_by_label("Write").is_some() && h.state().output().chars().count() == prompt_len + 40);
    assert!(done, "the 40 characters were not written: {:?}", harness.state().output());
    assert!(harness.query_by_label_contains("But soft").is_some(), "the output is not shown");
}

#[test]
fn an_unseen_prompt_character_is_reported() {
    let mut harness = panel_harness(TextPanel::new().with_model(tiny_text_model()).with_prompt("Snow ☃ falls"));
    harness.run_steps(2);
    harness.get_by_label("Write").click();
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("not in this model's vocabulary").is_some());
    assert!(harness.state().output().is_empty());
}

/// The shipped date model answers as soon as an example is clicked, shows the answer, the
/// beam candidates and the attention heatmap's hover text; a bad input shows its error.
#[test]
fn dates_panel_translates_examples_and_reports_bad_input() {
    let mut harness = panel_harness(DatesPanel::new());
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("cannot load").is_none(), "the shipped dates model must load");
    harness.get_by_label("31.12.2099").click();
    harness.run_steps(2);
    let t = match harness.state().result() {
        Some(Ok(t)) => t.clone(),
        other => panic!("no translation: {other:?}"),
    };
    assert_eq!(t.input.iter().collect::<String>(), "31.12.2099");
    assert_eq!(t.best.iso, "2099-12-31");
    assert_eq!(t.attention.dim(), (10, 10));
    // The answer heads the panel and tops the beam candidates.
    assert_eq!(harness.query_all_by_label("2099-12-31").count(), 2, "the answer is not shown");
    assert!(harness.query_by_label("Beam candidates:").is_some());
    assert!(harness.query_by_label("a real date").is_some());

    let mut harness = panel_harness(DatesPanel::new().with_input("   "));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("the input is empty").is_some());
}

/// A recording through the file box: the panel runs it on a worker and shows the detector's
/// trace and its verdict. (An untrained network stands in for the shipped one, and a quiet
/// hum for speech: the test is about the panel's path from file to answer.)
#[test]
fn trigger_panel_runs_a_file_and_reports_a_bad_one() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::model::{TriggerConfig, TriggerNet};
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("hum.wav");
    let hum: Vec<f32> = (0..32_000).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
    seqlab::dsp::write_wav(&wav, &hum, 16_000).unwrap();
    let net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
    let mut harness = panel_harness(TriggerPanel::new().with_model(net).with_file(&wav));
    harness.run_steps(2);
    harness.get_by_label("Detect").click();
    assert!(step_until(&mut harness, Duration::from_secs(30), |h| h.state().file_detections().is_some()), "no result from the file");
    assert!(harness.query_by_label_contains("2.0 s of audio").is_some());

    let bad = dir.path().join("not-audio.wav");
    std::fs::write(&bad, b"hello").unwrap();
    let net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
    let mut harness = panel_harness(TriggerPanel::new().with_model(net).with_file(&bad));
    harness.run_steps(2);
    harness.get_by_label("Detect").click();
    assert!(step_until(&mut harness, Duration::from_secs(30), |h| h.query_by_label_contains("not-audio.wav").is_some()), "the bad file's error is shown");
}

/// The second look is on by default behind the shipped detector: a held-out voice's
/// "activate" gives one detection; unticking "Second look" finds it too, without the
/// verifier's wait. Behind a detector for another word (here an untrained one, which names
/// none) the box is off limits, the panel says why, and Detect runs the detector alone.
#[test]
fn trigger_panel_second_look_by_default_and_only_for_its_word() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::model::{TriggerConfig, TriggerNet};
    let wav = std::path::Path::new("src/models/trigger/testdata/activate_en-us.wav");
    let mut harness = panel_harness(TriggerPanel::new().with_file(wav));
    fn detect(harness: &mut Harness<'_, TriggerPanel>) -> Vec<f64> {
        harness.get_by_label("Detect").click();
        assert!(step_until(harness, Duration::from_secs(30), |h| h.state().file_detections().is_some()), "no result from the file");
        harness.state().file_detections().map(<[f64]>::to_vec).unwrap_or_default()
    }
    harness.run_steps(2);
    assert_eq!((harness.state().sensitivity(), harness.state().detector_config().min_steps), (0.7, 1));
    let checked = detect(&mut harness);
    harness.get_by_label("Second look").click();
    harness.run_steps(2);
    assert_eq!((harness.state().sensitivity(), harness.state().detector_config().min_steps), (0.5, 2));
    let alone = detect(&mut harness);
    // the word ends at 1.11 s: both find it once, inside its hit window
    assert_eq!((checked.len(), alone.len()), (1, 1), "{checked:?} {alone:?}");
    assert!([checked[0], alone[0]].iter().all(|t| (0.81..=2.11).contains(t)), "{checked:?} {alone:?}");

    let net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
    let mut harness = panel_harness(TriggerPanel::new().with_model(net).with_file(wav));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("no verifier knows").is_some());
    assert_eq!(harness.state().sensitivity(), 0.5, "a detector alone starts at 0.5");
    harness.get_by_label("Detect").click();
    assert!(step_until(&mut harness, Duration::from_secs(30), |h| h.state().file_detections().is_some()), "the detector runs alone");
}

/// A word trained in the panel comes with its own verifier: behind a detector for "hey
/// seqlab" (untrained stand-ins for both networks, named for the word) the second look is
/// offered and starts on, at sensitivity 0.05 on a single step (one verifier, not the
/// shipped pair's 0.9), and Detect runs with it; a verifier for another word is not
/// offered, and the detector alone is back at 0.5 on two steps.
#[test]
fn trigger_panel_second_look_for_a_trained_word() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::model::{TriggerConfig, TriggerNet};
    use seqlab::models::trigger::verify::{Verifier, VerifierConfig};
    let wav = std::path::Path::new("src/models/trigger/testdata/activate_en-us.wav");
    let named = |word: &str| {
        let mut net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
        net.info.insert("word".into(), word.into());
        let mut v = Verifier::<f32>::new(VerifierConfig::default(), 1).unwrap();
        v.info.insert("word".into(), word.into());
        (net, v)
    };
    let (net, v) = named("hey seqlab");
    let mut harness = panel_harness(TriggerPanel::new().with_model(net).with_verifiers(vec![v]).with_file(wav));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("no verifier knows").is_none());
    assert!(harness.state().second_look_on());
    assert_eq!(harness.state().sensitivity(), 0.05, "one verifier");
    assert_eq!(harness.state().detector_config().min_steps, 1);
    harness.get_by_label("Detect").click();
    assert!(step_until(&mut harness, Duration::from_secs(30), |h| h.state().file_detections().is_some()), "no result with the second look");

    let (net, _) = named("hey seqlab");
    let (_, other) = named("activate");
    let mut harness = panel_harness(TriggerPanel::new().with_model(net).with_verifiers(vec![other]));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("no verifier knows").is_some());
    assert!(!harness.state().second_look_on());
    assert_eq!(harness.state().sensitivity(), 0.5);
    assert_eq!(harness.state().detector_config().min_steps, 2);
}

/// After a restart the words trained here are back (read on a worker): the Detector picker lists each saved word
/// (stand-in networks named for it), choosing one makes it the detector with its own second
/// look (one verifier: sensitivity 0.05), the shipped word comes back the same way with its
/// pair (0.9), and a corrupt file is reported while the detector in use stays. Forgetting a
/// word asks first (Keep deletes nothing); Delete removes its two files, takes it off the list
/// and goes back to the shipped word.
#[test]
fn trigger_panel_picks_a_saved_word() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::model::{TriggerConfig, TriggerNet};
    use seqlab::models::trigger::verify::{Verifier, VerifierConfig};
    let dir = tempfile::tempdir().unwrap();
    let mut net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
    net.info.insert("word".into(), "hey seqlab".into());
    let mut v = Verifier::<f32>::new(VerifierConfig::default(), 1).unwrap();
    v.info.insert("word".into(), "hey seqlab".into());
    seqlab::models::trigger::save_word(dir.path(), &mut net, Some(&mut v)).unwrap();
    std::fs::write(dir.path().join("broken.safetensors"), b"not a model").unwrap();
    let mut harness = panel_harness(TriggerPanel::new().with_words_root(dir.path()));
    let pick = |harness: &mut Harness<'_, TriggerPanel>, entry: &str| {
        harness.get_by_label("Detector").click();
        harness.run_steps(2);
        harness.get_by_label(entry).click();
        harness.run_steps(1);
    };
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().saved_words().len() == 2), "the saved words were not listed");
    assert_eq!(harness.state().detector_word(), Some("activate"));
    pick(&mut harness, "hey-seqlab");
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().detector_word() == Some("hey seqlab")), "the saved word was not loaded");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Say \"hey seqlab\"").is_some());
    assert!(harness.query_by_label_contains("no verifier knows").is_none());
    assert!(harness.state().second_look_on(), "its own second look");
    assert_eq!(harness.state().sensitivity(), 0.05, "behind one verifier");

    pick(&mut harness, "broken (no second look)");
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.query_by_label_contains("cannot use that word").is_some()), "no error for a corrupt file");
    assert!(harness.query_by_label_contains("broken.safetensors").is_some());
    assert_eq!(harness.state().detector_word(), Some("hey seqlab"));

    pick(&mut harness, "activate (shipped)");
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().detector_word() == Some("activate")), "the shipped word did not come back");
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("cannot use that word").is_none());
    assert_eq!(harness.state().sensitivity(), 0.7, "behind the shipped pair");

    pick(&mut harness, "hey-seqlab");
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().detector_word() == Some("hey seqlab")), "the saved word was not loaded again");
    harness.get_by_label("Forget this word").click();
    harness.run_steps(2);
    harness.get_by_label("Keep").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("Keep").is_none(), "the question stays after Keep");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "Keep deleted something");
    assert_eq!(harness.state().detector_word(), Some("hey seqlab"));
    harness.get_by_label("Forget this word").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Delete the detector for \"hey-seqlab\"").is_some());
    harness.get_by_label("Delete").click();
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().detector_word() == Some("activate")), "forgetting did not go back to the shipped word");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["broken.safetensors"]);
    harness.get_by_label("Detector").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("hey-seqlab").is_none(), "a forgotten word is still offered");
}

/// Generate fills the piano roll's song; Save MIDI writes a file that parses back with the
/// same melody; Save WAV renders on the worker and writes a WAV once it is done.
#[test]
fn jazz_panel_generates_and_saves_midi_and_wav() {
    let dir = tempfile::tempdir().unwrap();
    let (mid, wav) = (dir.path().join("j.mid"), dir.path().join("j.wav"));
    let model = seqlab::models::jazz::model::JazzLstm::new(seqlab::models::jazz::model::JazzConfig { hidden: 8 }, 0).unwrap();
    let mut harness = panel_harness(JazzPanel::new().with_model(model).with_paths(mid.clone(), wav.clone()));
    harness.run_steps(2);
    assert!(harness.state().song().is_none());
    harness.get_by_label("Generate").click();
    harness.run_steps(3);
    let melody = harness.state().song().expect("a song after Generate").parts[0].notes.len();
    assert!(melody > 0, "{:?}", harness.state().status());
    harness.get_by_label("Save MIDI").click();
    harness.run_steps(2);
    let back = seqlab::music::midi::read(&mid).unwrap();
    assert_eq!(back.part("melody").unwrap().notes.len(), melody);
    harness.get_by_label("Save WAV").click();
    assert!(step_until(&mut harness, Duration::from_secs(120), |h| !h.state().is_rendering() && wav.exists()), "{:?}", harness.state().status());
    assert!(std::fs::metadata(&wav).unwrap().len() > 44);
}

/// The three shipped Emojify models answer for the typed sentence with five probabilities,
/// unknown words are marked, clicking an example updates the answer, and an empty
/// sentence shows its error instead of an emoji.
#[test]
fn emojify_panel_shows_all_models_and_marks_unknown_words() {
    let mut harness = panel_harness(EmojifyPanel::new().with_input("we had pasta qwzx for dinner"));
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("cannot load").is_none(), "the shipped models must load");
    let results = harness.state().results().to_vec();
    assert_eq!(results.len(), 3);
    for (v, r) in &results {
        let p = r.as_ref().unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!((p.probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert_eq!(p.unknown, ["qwzx"]);
    }
    assert!(harness.query_by_label_contains("unknown words (skipped): qwzx").is_some());
    assert!(harness.query_by_label("V1").is_some() && harness.query_by_label("V2").is_some() && harness.query_by_label("V3").is_some());

    harness.get_by_label("let's play ball tonight").click();
    harness.run_steps(2);
    assert!(harness.state().results().iter().all(|(_, r)| r.is_ok()));
    assert!(harness.query_by_label_contains("qwzx").is_none(), "the panel follows the new sentence");

    let mut harness = panel_harness(EmojifyPanel::new().with_input("  ?! "));
    harness.run_steps(2);
    assert_eq!(harness.query_all_by_label_contains("no words").count(), 3);
}

/// The Words panel answers from the shipped vectors as the user types: neighbours of a
/// word, man : woman :: king : queen, and an unknown word's error instead of a list.
#[test]
fn words_panel_answers_neighbours_and_analogies() {
    use seqlab::gui::WordsPanel;
    let mut harness = panel_harness(WordsPanel::new().with_word("france"));
    harness.run_steps(2);
    let neighbours = harness.state().neighbours().expect("france is in the vocabulary");
    assert_eq!(neighbours.len(), 10);
    assert!(harness.query_by_label_contains(&neighbours[0].word).is_some());
    assert_eq!(harness.state().analogy().unwrap()[0].word, "queen");
    assert!(harness.query_by_label_contains("queen").is_some());

    let mut harness = panel_harness(WordsPanel::new().with_word("qwzxv"));
    harness.run_steps(2);
    assert!(harness.state().neighbours().is_err());
    assert!(harness.query_by_label_contains("\"qwzxv\" is not in the vocabulary").is_some(), "the unknown word's error is shown");
}

/// Takes of the user's voice: the panel counts those already in the word's folder (on a
/// worker, as it reads and deletes every folder), Forget
/// asks first and removes them on Delete (Keep keeps them), and Record either saves a new take or, with no microphone (as on CI),
/// says so; it never writes outside the folder it was given.
#[test]
fn trigger_panel_records_and_forgets_takes_of_the_users_voice() {
    use seqlab::gui::TriggerPanel;
    let dir = tempfile::tempdir().unwrap();
    let word = dir.path().join("activate");
    std::fs::create_dir_all(&word).unwrap();
    seqlab::dsp::write_wav(&word.join("take-1.wav"), &[0.1; 16_000], 16_000).unwrap();
    let mut harness = panel_harness(TriggerPanel::new().with_own_voice_root(dir.path()));
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().own_takes() == 1), "the take was not counted");
    assert!(harness.query_by_label_contains("1 take of your voice").is_some());
    harness.get_by_label("Forget them").click();
    harness.run_steps(2);
    harness.get_by_label("Keep").click();
    harness.run_steps(2);
    assert_eq!(harness.state().own_takes(), 1, "Keep deleted the take");
    assert!(word.join("take-1.wav").exists());
    harness.get_by_label("Forget them").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Delete the recorded take of your voice?").is_some());
    harness.get_by_label("Delete").click();
    assert!(step_until(&mut harness, Duration::from_secs(20), |h| h.state().own_takes() == 0), "the take was not forgotten");
    assert!(!word.exists());
    harness.get_by_label_contains("Record my voice").click();
    let done = step_until(&mut harness, Duration::from_secs(20), |h| {
        h.state().own_takes() == 1 || h.query_by_label_contains("microphone").is_some() || h.query_by_label_contains("audio device").is_some()
    });
    assert!(done, "neither a take nor a microphone error");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(entries.iter().all(|e| e == "activate"), "{entries:?}");
}

/// Check says the detector's word in held-out voices (here six sayings, and one of each
/// other word; espeak-ng and flite come from scripts/setup.sh) and shows what it found at
/// the slider's sensitivity: all six sayings of "activate" counted and the 36 everyday
/// words said once each. A detector with no word saved with it cannot be checked, and the
/// panel says so instead of starting.
#[test]
fn trigger_panel_checks_which_words_set_it_off() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::check::CheckSpec;
    use seqlab::models::trigger::model::{TriggerConfig, TriggerNet};
    let cache = tempfile::tempdir().unwrap();
    let spec = CheckSpec { positives: 6, per_word: 1, cache: cache.path().into(), speech_commands: None, backgrounds: None, ..CheckSpec::new("") };
    let mut harness = panel_harness(TriggerPanel::new().with_check_spec(spec.clone()));
    harness.run_steps(2);
    harness.get_by_label("Check").click();
    assert!(step_until(&mut harness, Duration::from_secs(120), |h| h.state().check_result().is_some()), "no finding");
    harness.run_steps(2);
    let r = harness.state().check_result().unwrap().clone().unwrap();
    assert_eq!((r.word.as_str(), r.positives), ("activate", 6));
    assert_eq!(r.everyday.len(), 36);
    assert!(r.everyday.iter().chain(&r.sound_alikes).all(|h| h.said == 1 && h.fired <= 1), "{r:?}");
    assert!(harness.query_by_label_contains("At sensitivity 0.70: found \"activate\"").is_some());
    assert!(harness.query_by_label("Check").is_some(), "ready for another check");

    let mut harness = panel_harness(TriggerPanel::new().with_model(TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap()).with_check_spec(spec));
    harness.run_steps(2);
    harness.get_by_label("Check").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("the check failed: the detector has no word").is_some());
}

/// Training trains against the word's own near-rhymes only when the box is ticked, and
/// unticking it goes back to the list written for "activate".
#[test]
fn trigger_panel_trains_against_near_rhymes_when_asked() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::data::NegativeWords;
    let mut harness = panel_harness(TriggerPanel::new());
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().negative_words, NegativeWords::All);
    harness.get_by_label("Also train against words that sound like it").click();
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().negative_words, NegativeWords::Own);
    harness.get_by_label("Also train against words that sound like it").click();
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().negative_words, NegativeWords::All);
}

/// The minimal-pairs box: ticked, Train asks for the 600 pairs "jarvis" was measured with;
/// unticked, none, as before.
#[test]
fn trigger_panel_trains_against_minimal_pairs_when_asked() {
    use seqlab::gui::TriggerPanel;
    use seqlab::models::trigger::train::NEW_WORD_MINIMAL_PAIRS;
    let mut harness = panel_harness(TriggerPanel::new());
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().minimal_pairs, 0);
    harness.get_by_label("Also train against close sound-alikes in the same voices").click();
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().minimal_pairs, NEW_WORD_MINIMAL_PAIRS);
    assert_eq!(NEW_WORD_MINIMAL_PAIRS, 600);
    harness.get_by_label("Also train against close sound-alikes in the same voices").click();
    harness.run_steps(2);
    assert_eq!(harness.state().train_config().minimal_pairs, 0);
}
