"""Reads leadcrawl's ingest output with pyarrow and DuckDB and checks types, metadata, counts.

    python readback.py OUT_DIR N_LEADS N_REJECTS
"""
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

out, n_leads, n_rejects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

leads = pq.read_table(f"{out}/leads")
assert leads.num_rows == n_leads, leads.num_rows
s = leads.schema
assert s.field("lead_id").type == pa.string() and not s.field("lead_id").nullable
assert s.field("source_line").type == pa.uint64()
assert pa.types.is_dictionary(s.field("status").type), s.field("status").type
assert s.field("website").type == pa.string() and s.field("website").nullable
assert s.field("lead_id").metadata[b"description"].startswith(b"Stable id")
assert len(set(leads.column("lead_id").to_pylist())) == n_leads, "duplicate lead ids"
assert set(leads.column("status").to_pylist()) <= {"won", "lost", "open"}

for part in sorted(__import__("glob").glob(f"{out}/leads/*.parquet")):
    md = pq.read_metadata(part)
    kv = {k.decode(): v.decode() for k, v in md.metadata.items()}
    for key in ["leadcrawl.schema_version", "leadcrawl.table", "leadcrawl.run_id", "leadcrawl.config_hash", "leadcrawl.version"]:
        assert key in kv, (part, key, kv.keys())
    assert kv["leadcrawl.table"] == "leads"
    assert kv["leadcrawl.schema_version"] == "3", kv["leadcrawl.schema_version"]
    assert md.row_group(0).column(0).compression == "ZSTD", md.row_group(0).column(0).compression

rejects = pq.read_table(f"{out}/rejects")
assert rejects.num_rows == n_rejects
assert rejects.schema.field("raw").type == pa.list_(pa.string())

con = duckdb.connect()
n, won = con.execute(
    f"SELECT count(*), count(*) FILTER (WHERE status = 'won') FROM read_parquet('{out}/leads/*.parquet')"
).fetchone()
assert n == n_leads, n
assert won == sum(1 for v in leads.column("status").to_pylist() if v == "won")
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}/leads/*.parquet')").fetchall()}
assert types["source_line"] == "UBIGINT", types
assert types["lead_id"] == "VARCHAR", types
reason = con.execute(f"SELECT reason, raw[1] FROM read_parquet('{out}/rejects/*.parquet')").fetchone()
assert "SIREN" in reason[0] and reason[1] == "Broken", reason
print("readback ok", n, "leads")
