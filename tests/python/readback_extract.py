"""Reads the extract stage's tables with pyarrow and DuckDB, as a researcher would.

usage: readback_extract.py OUT N_PAGES N_LEADS
"""

import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

out, n_pages, n_leads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

text = pq.read_table(f"{out}/page_text")
assert text.num_rows == n_pages, text.num_rows
assert text.schema.field("word_count").type == pa.uint32()
assert pa.types.is_dictionary(text.schema.field("page_type").type)
feat = pq.read_table(f"{out}/web_features")
assert feat.num_rows == n_leads, feat.num_rows
assert feat.schema.field("technologies").type == pa.list_(pa.string())
assert feat.schema.field("has_careers").type == pa.bool_()
assert feat.schema.field("founding_year").type == pa.int32()
for table in ["page_text", "web_features"]:
    for part in sorted(__import__("glob").glob(f"{out}/{table}/*.parquet")):
        meta = pq.read_metadata(part)
        kv = {k.decode(): v.decode() for k, v in meta.metadata.items()}
        assert kv["leadcrawl.table"] == table, kv
        assert kv["leadcrawl.schema_version"] == "1"
        assert kv["leadcrawl.extractor_version"].startswith("leadcrawl-extract/"), kv
        assert meta.row_group(0).column(0).compression == "ZSTD"

con = duckdb.connect()
words, pages = con.execute(
    f"""SELECT sum(f.words), sum(f.pages) FROM read_parquet('{out}/web_features/*.parquet') f"""
).fetchone()
(text_words,) = con.execute(
    f"SELECT sum(word_count) FROM read_parquet('{out}/page_text/*.parquet')"
).fetchone()
assert words == text_words, (words, text_words)
assert pages == n_pages, pages
joined = con.execute(
    f"""SELECT count(*) FROM read_parquet('{out}/page_text/*.parquet') t
        JOIN read_parquet('{out}/web_features/*.parquet') f USING (lead_id)"""
).fetchone()[0]
assert joined == n_pages, joined
techs = con.execute(
    f"SELECT list_distinct(flatten(list(technologies))) FROM read_parquet('{out}/web_features/*.parquet')"
).fetchone()[0]
assert "Google Analytics" in techs, techs
print("readback ok", n_pages, "pages", n_leads, "leads")
