//! The head offices of `universe.establishments` (SIRENE `StockEtablissement`), held compactly
//! by SIREN for the legal units' rows to take their postcode, city, region and country from: a
//! `u32` key and four `u32` indexes into interned strings per head office (about 20 bytes; the
//! real stock's ~12 million open head offices in a few hundred MB).

use std::collections::HashMap;

use enrich::registry::bulk::{HeadOffice, HeadOfficeLayout};

use super::read::{self, ChunkSink, Loaded};
use crate::config::UniverseFormat;
use crate::exit::UsageError;

const NONE: u32 = u32::MAX;

/// Head offices by SIREN.
#[derive(Default)]
pub struct HeadOffices {
    by_siren: HashMap<u32, [u32; 4]>,
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// Rows that could not be read (logged, not kept).
    pub unreadable: u64,
}

/// What a legal unit takes from its head office.
pub struct Place<'a> {
    pub postcode: Option<&'a str>,
    pub city: Option<&'a str>,
    pub region: Option<&'a str>,
    pub country: Option<&'a str>,
}

impl HeadOffices {
    pub fn len(&self) -> usize {
        self.by_siren.len()
    }

    fn intern(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else {
            return NONE;
        };
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    fn insert(&mut self, h: &HeadOffice) {
        let Ok(siren) = h.siren.parse::<u32>() else {
            return;
        };
        let v = [
            self.intern(h.postcode.as_deref()),
            self.intern(h.city.as_deref()),
            self.intern(h.region),
            self.intern(h.country),
        ];
        self.by_siren.insert(siren, v);
    }

    pub fn get(&self, siren: &str) -> Option<Place<'_>> {
        let v = self.by_siren.get(&siren.parse::<u32>().ok()?)?;
        let s = |i: u32| (i != NONE).then(|| &*self.strings[i as usize]);
        Some(Place {
            postcode: s(v[0]),
            city: s(v[1]),
            region: s(v[2]),
            country: s(v[3]),
        })
    }

    /// Reads every file's head offices (only open ones with `open_only`).
    pub fn load(
        files: &[std::path::PathBuf],
        format: UniverseFormat,
        open_only: bool,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> anyhow::Result<Option<HeadOffices>> {
        let mut sink = Sink {
            offices: HeadOffices::default(),
            layout: None,
            open_only,
            stop,
            source: String::new(),
        };
        for path in files {
            sink.source = path.display().to_string();
            if read::read_file(path, format, &mut sink)? == Loaded::Interrupted {
                return Ok(None);
            }
        }
        Ok(Some(sink.offices))
    }
}

struct Sink<'a> {
    offices: HeadOffices,
    layout: Option<HeadOfficeLayout>,
    open_only: bool,
    stop: &'a (dyn Fn() -> bool + Sync),
    source: String,
}

impl ChunkSink for Sink<'_> {
    fn chunk_rows(&self) -> usize {
        1 << 20
    }

    fn header(&mut self, header: &[&str]) -> anyhow::Result<()> {
        let layout = HeadOfficeLayout::from_header(header).map_err(|e| {
            UsageError(format!(
                "{}: not a SIRENE StockEtablissement ({e})",
                self.source
            ))
        })?;
        self.layout = Some(layout);
        Ok(())
    }

    fn wants(&self, _k: usize) -> bool {
        true
    }

    fn row(&mut self, line: u64, fields: &[&str]) {
        let Some(layout) = &self.layout else {
            return;
        };
        match layout.parse(fields) {
            Ok(Some(h)) if h.open || !self.open_only => self.offices.insert(&h),
            Ok(_) => {}
            Err(e) => {
                self.offices.unreadable += 1;
                if self.offices.unreadable <= 5 {
                    tracing::warn!("{}: line {line}: establishment not read: {e}", self.source);
                }
            }
        }
    }

    fn commit(&mut self, _k: usize, _rows: usize) -> anyhow::Result<()> {
        Ok(())
    }

    fn should_stop(&self) -> bool {
        (self.stop)()
    }
}
