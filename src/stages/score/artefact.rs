//! Model artefacts: the model of a score run, kept in the output folder as
//! `models/<version>.json` so that a later run can score with it again (`score.model`).
//!
//! The file holds everything scoring needs — the fitted transforms and weights
//! ([`learn::Trained`]), the calibration (Platt or isotonic), the shape of the dataset it was
//! fitted on (column names by block; a design reads columns by position) — and what a person
//! auditing it wants: the training set's size and hash, the cross-validated figures of
//! `evaluation.json`. The version is the SHA-256 of the file's content (without the version
//! itself), so the same fit gives the same version on any machine and a damaged file is told
//! from a good one. The score stage always scores with the model read back from the file it
//! wrote: a pinned version scores exactly as the run that saved it did.

use std::path::{Path, PathBuf};

use learn::calibration::{Calibrator, Isotonic, Platt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::exit::UsageError;
use crate::state::{PendingPart, StateStore};
use crate::table::{self, Provenance};

/// The folder of the artefacts in the output folder.
pub const DIR: &str = "models";
/// The state-store name artefacts are registered under: not a runner stage, so that a reset
/// of `score` never takes a model that a config pins away.
pub const STORE: &str = "models";
/// The version of the file's shape.
pub const FORMAT: u32 = 1;

/// The leads the model was fitted on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingSet {
    pub leads: usize,
    pub won: usize,
    pub lost: usize,
    /// SHA-256 over the training leads' ids, labels and every input the model could read.
    pub hash: String,
}

/// The model's cross-validated figures, from `evaluation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CvFigures {
    pub folds: usize,
    pub seed: u64,
    pub metrics: learn::Metrics,
    pub roc_auc_interval: Option<(f64, f64)>,
    pub calibration: Option<learn::calibration::Calibration>,
}

/// One saved model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelArtefact {
    pub format: u32,
    /// 16 hex digits of the SHA-256 of this file with `version` empty.
    pub version: String,
    /// The model's name in [`learn::MODELS`].
    pub model: String,
    pub description: String,
    pub params: learn::Params,
    /// The embedding model the vectors came from (`features.model_id`), when the model reads them.
    pub embedding_model: Option<String>,
    /// The columns the model was fitted on, by block, in order.
    pub columns: learn::DatasetColumns,
    /// What each feature of the model is, in its order.
    pub features: Vec<String>,
    /// Attributes the leakage guard left out of the fit.
    pub excluded_attributes: Vec<String>,
    /// How the lead list's attribute columns were encoded for the fit, applied again to any
    /// later list the model scores. Absent from artefacts saved before it was kept: those read
    /// each list's attributes as that list decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_encodings: Option<Vec<crate::stages::evaluate::inputs::AttributeEncoding>>,
    pub training: TrainingSet,
    pub cv: Option<CvFigures>,
    /// Score → probability when Platt's sigmoid calibrates it (none for the centroid, whose
    /// model maps its own, and when `isotonic` does).
    pub platt: Option<Platt>,
    /// Score → probability when isotonic steps calibrate it (absent from artefacts saved
    /// before isotonic calibration existed: those are Platt's or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isotonic: Option<Isotonic>,
    pub trained: learn::Trained,
}

/// The SHA-256 of `bytes`, hex.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ModelArtefact {
    /// The version `self`'s content hashes to.
    fn content_version(&self) -> anyhow::Result<String> {
        let mut unversioned = self.clone();
        unversioned.version = String::new();
        Ok(sha256_hex(&serde_json::to_vec(&unversioned)?)[..16].to_owned())
    }

    /// Sets the version from the content.
    pub fn seal(mut self) -> anyhow::Result<ModelArtefact> {
        self.version = self.content_version()?;
        Ok(self)
    }

    /// The probabilities (calibrated) of `rows` of `d` (aligned), without drivers.
    pub fn probabilities(&self, d: &learn::Dataset, rows: &[usize]) -> anyhow::Result<Vec<f64>> {
        let mut p = self.trained.probabilities(d, rows)?;
        p.iter_mut().for_each(|x| *x = self.calibrate(*x));
        Ok(p)
    }

    /// The probability (calibrated) and drivers of lead `r` of `d`, a dataset aligned to
    /// [`ModelArtefact::columns`].
    pub fn predict(
        &self,
        d: &learn::Dataset,
        r: usize,
        drivers: usize,
    ) -> anyhow::Result<learn::Prediction> {
        let mut p = self.trained.predict(d, r, drivers)?;
        p.probability = self.calibrate(p.probability);
        Ok(p)
    }

    /// The model's probability through the artefact's calibration (unchanged without one).
    fn calibrate(&self, p: f64) -> f64 {
        match (&self.isotonic, &self.platt) {
            (Some(i), _) => i.apply(p),
            (None, Some(platt)) => platt.apply(p),
            (None, None) => p,
        }
    }

    /// Sets the calibration from a fitted [`Calibrator`] (`None`: the model's own probabilities).
    pub fn with_calibrator(mut self, c: Option<Calibrator>) -> ModelArtefact {
        (self.platt, self.isotonic) = match c {
            Some(Calibrator::Platt(p)) => (Some(p), None),
            Some(Calibrator::Isotonic(i)) => (None, Some(i)),
            None => (None, None),
        };
        self
    }
}

/// The path of version `version`'s file.
pub fn path(output_dir: &Path, version: &str) -> PathBuf {
    output_dir.join(DIR).join(format!("{version}.json"))
}

/// Writes `a` (sealed) to `models/<version>.json` unless that file is already there with the
/// same bytes, registered under [`STORE`]; returns the file's bytes.
pub fn save(
    output_dir: &Path,
    store: &dyn StateStore,
    prov: &Provenance,
    a: &ModelArtefact,
) -> anyhow::Result<Vec<u8>> {
    let body = serde_json::to_vec_pretty(a)?;
    let final_path = path(output_dir, &a.version);
    if std::fs::read(&final_path).is_ok_and(|b| b == body) {
        return Ok(body);
    }
    let dir = output_dir.join(DIR);
    std::fs::create_dir_all(&dir)?;
    // Temporaries of a run that died before its commit.
    for e in std::fs::read_dir(&dir)?.flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(table::TMP_PREFIX)
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let tmp_path = dir.join(format!(
        "{}{}-{}.json",
        table::TMP_PREFIX,
        prov.run_id,
        a.version
    ));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp_path)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    let part = PendingPart {
        table: DIR.to_owned(),
        tmp_path,
        final_path,
        rows: 1,
        bytes: body.len() as u64,
        checksum: table::checksum(&body),
    };
    store.commit(STORE, &[part], &[], &Default::default())?;
    Ok(body)
}

/// Reads a model from its file's bytes, checking that the content is the version's.
pub fn parse(body: &[u8], what: &str) -> Result<ModelArtefact, UsageError> {
    let a: ModelArtefact = serde_json::from_slice(body)
        .map_err(|e| UsageError(format!("{what} is damaged or not a model artefact: {e}")))?;
    if a.format != FORMAT {
        return Err(UsageError(format!(
            "{what} has format {} (this leadcrawl reads {FORMAT})",
            a.format
        )));
    }
    let got = a
        .content_version()
        .map_err(|e| UsageError(format!("{what}: {e}")))?;
    if got != a.version {
        return Err(UsageError(format!(
            "{what} is damaged: its content hashes to {got}, not to its version {}",
            a.version
        )));
    }
    Ok(a)
}

/// Loads the pinned version `version` (`score.model`) from the output folder.
pub fn load(output_dir: &Path, version: &str) -> Result<ModelArtefact, UsageError> {
    let p = path(output_dir, version);
    let body = std::fs::read(&p).map_err(|e| {
        let mut known: Vec<String> = std::fs::read_dir(output_dir.join(DIR))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.strip_suffix(".json")
                            .filter(|_| !n.starts_with(table::TMP_PREFIX))
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        UsageError(format!(
            "score.model = {version:?}: cannot read {} ({e}); saved versions here: {}",
            p.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let a = parse(
        &body,
        &format!("score.model = {version:?}: {}", p.display()),
    )?;
    if a.version != version {
        return Err(UsageError(format!(
            "score.model = {version:?}: {} holds version {}",
            p.display(),
            a.version
        )));
    }
    Ok(a)
}

/// SHA-256 over the `rows` of `d` (with their ids): their labels and every input.
pub fn training_hash(d: &learn::Dataset, ids: &[String], rows: &[usize]) -> String {
    let mut h = Sha256::new();
    let blocks = [&d.firmographics, &d.web, &d.attributes];
    for &r in rows {
        h.update(ids[r].as_bytes());
        h.update([0x1f, u8::from(d.labels[r])]);
        if let Some(v) = &d.embedding[r] {
            for x in v {
                h.update(x.to_le_bytes());
            }
        }
        for b in blocks {
            for c in &b.numeric {
                h.update(c.values[r].map_or([0xff; 8], |x| x.to_le_bytes()));
            }
            for c in &b.categorical {
                h.update(c.values[r].as_deref().unwrap_or("\u{0}").as_bytes());
                h.update([0x1f]);
            }
        }
        h.update(d.text[r].as_bytes());
        h.update([0x1e]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
