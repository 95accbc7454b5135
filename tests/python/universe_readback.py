"""Reads the universe stage's output with pyarrow and polars and checks types, metadata, counts.

    python universe_readback.py OUT_DIR N_COMPANIES N_REJECTS
"""
import glob
import sys

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

out, n_rows, n_rejects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

u = pq.read_table(f"{out}/universe")
assert u.num_rows == n_rows, u.num_rows
s = u.schema
for name in ["registry", "status", "nace_section", "nace_division", "headcount_band", "legal_form",
             "category", "region", "country"]:
    assert pa.types.is_dictionary(s.field(name).type), (name, s.field(name).type)
for name in ["registry_id", "name", "industry_code", "postcode", "city", "address", "head_office_siret",
             "source_file"]:
    assert s.field(name).type == pa.string(), (name, s.field(name).type)
assert s.field("headcount_min").type == pa.uint32() and s.field("headcount_max").type == pa.uint32()
assert s.field("created").type == pa.date32()
assert s.field("employer").type == pa.bool_()
assert s.field("source_line").type == pa.uint64()
assert not s.field("registry_id").nullable
assert s.field("nace_section").metadata[b"description"].startswith(b"NACE")

for part in sorted(glob.glob(f"{out}/universe/*.parquet")):
    md = pq.read_metadata(part)
    kv = {k.decode(): v.decode() for k, v in md.metadata.items()}
    for key in ["leadcrawl.schema_version", "leadcrawl.table", "leadcrawl.run_id", "leadcrawl.config_hash",
                "leadcrawl.version", "leadcrawl.universe_file", "leadcrawl.universe_registry",
                "leadcrawl.universe_chunk"]:
        assert key in kv, (part, key)
    assert kv["leadcrawl.table"] == "universe"
    assert kv["leadcrawl.universe_registry"] in ("sirene", "companies_house")
    assert md.row_group(0).column(0).compression == "ZSTD"

d = u.to_pydict()
assert set(d["registry"]) <= {"sirene", "companies_house"}
for reg, rid, section, division in zip(d["registry"], d["registry_id"], d["nace_section"], d["nace_division"]):
    if reg == "sirene":
        assert len(rid) == 9 and rid.isdigit(), rid
    else:
        assert len(rid) == 8, rid
    assert section is None or (len(section) == 1 and "A" <= section <= "U"), section
    assert division is None or (len(division) == 2 and division.isdigit()), division
for lo, hi in zip(d["headcount_min"], d["headcount_max"]):
    assert lo is None or hi is None or lo <= hi

# polars reads the folder as one table, the same rows.
p = pl.read_parquet(f"{out}/universe/*.parquet")
assert p.height == n_rows, p.height
assert sorted(p["registry_id"].to_list()) == sorted(d["registry_id"])
assert p.filter(pl.col("registry") == "sirene")["country"].unique().to_list() == ["FR"]

r = pq.read_table(f"{out}/universe_rejects")
assert r.num_rows == n_rejects, r.num_rows
assert all(reason for reason in r.column("reason").to_pylist())
assert r.schema.field("raw").type == pa.string()
print("ok")
