//! The embed stage's Arrow encoding: chunks and their vectors → `chunks`; pooled vectors → `lead_embeddings`.

use super::*;
use crate::schema::{CHUNKS, LEAD_EMBEDDINGS};
use crate::table;
use arrow::array::{
    ArrayRef, FixedSizeListBuilder, Float32Builder, RecordBatch, StringArray, UInt32Array,
};
use std::sync::Arc;

fn vectors_array<'a>(rows: impl Iterator<Item = Option<&'a [f32]>>, dim: usize) -> ArrayRef {
    let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32).with_field(Arc::new(
        arrow::datatypes::Field::new("item", arrow::datatypes::DataType::Float32, false),
    ));
    for row in rows {
        match row {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => {
                b.values().append_slice(&vec![0.0; dim]);
                b.append(false);
            }
        }
    }
    Arc::new(b.finish())
}

pub(super) fn chunks_batch(leads: &[LeadChunks], dim: usize) -> anyhow::Result<RecordBatch> {
    let rows: Vec<(&LeadChunks, usize)> = leads
        .iter()
        .flat_map(|l| (0..l.chunks.len()).map(move |i| (l, i)))
        .collect();
    let s = |f: &dyn Fn(&LeadChunks, usize) -> &str| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|&(l, i)| Some(f(l, i)))
                .collect::<StringArray>(),
        )
    };
    let cols: Vec<ArrayRef> = vec![
        s(&|l, _| l.lead_id.as_str()),
        s(&|l, i| l.chunks[i].0.as_str()),
        table::dict(rows.iter().map(|&(l, i)| l.chunks[i].1.as_str())),
        Arc::new(
            rows.iter()
                .map(|&(l, i)| l.chunks[i].2)
                .collect::<UInt32Array>(),
        ),
        s(&|l, i| l.chunks[i].3.as_str()),
        Arc::new(
            rows.iter()
                .map(|&(l, i)| l.chunks[i].4)
                .collect::<UInt32Array>(),
        ),
        s(&|l, i| l.chunks[i].5.as_str()),
        vectors_array(
            rows.iter().map(|&(l, i)| Some(l.vectors[i].as_slice())),
            dim,
        ),
    ];
    Ok(RecordBatch::try_new(
        CHUNKS.arrow_schema_with_dim(dim as i32),
        cols,
    )?)
}

/// The weighted, L2-normalised mean of a lead's chunk vectors; `None` without any weight.
fn pool(lead: &LeadChunks, weights: &Weights, dim: usize) -> (Option<Vec<f32>>, u32) {
    let mut sum = vec![0f32; dim];
    let mut n = 0u32;
    for (chunk, v) in lead.chunks.iter().zip(&lead.vectors) {
        let w = weights.of(&chunk.1);
        if w <= 0.0 || v.len() != dim {
            continue;
        }
        n += 1;
        for (s, x) in sum.iter_mut().zip(v) {
            *s += w * x;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n == 0 || norm == 0.0 {
        return (None, 0);
    }
    (Some(sum.into_iter().map(|x| x / norm).collect()), n)
}

pub(super) fn lead_batch(
    leads: &[LeadChunks],
    weights: &Weights,
    model_id: &str,
    dim: usize,
) -> anyhow::Result<RecordBatch> {
    let pooled: Vec<(Option<Vec<f32>>, u32)> =
        leads.iter().map(|l| pool(l, weights, dim)).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            leads
                .iter()
                .map(|l| Some(l.lead_id.as_str()))
                .collect::<StringArray>(),
        ),
        vectors_array(pooled.iter().map(|(v, _)| v.as_deref()), dim),
        Arc::new(pooled.iter().map(|(_, n)| *n).collect::<UInt32Array>()),
        table::dict(leads.iter().map(|_| model_id)),
        Arc::new(leads.iter().map(|_| dim as u32).collect::<UInt32Array>()),
    ];
    Ok(RecordBatch::try_new(
        LEAD_EMBEDDINGS.arrow_schema_with_dim(dim as i32),
        cols,
    )?)
}
