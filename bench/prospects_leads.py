#!/usr/bin/env python3
"""The lead list of the prospects benchmark (bench/prospects.sh): clients and lost leads drawn
from a generated SIRENE stock (bench/universe_gen.py), so that both sides score the same universe
against the same clients.

    prospects_leads.py StockUniteLegale.parquet OUT.csv [CLIENTS] [LOST]

Clients (won, default 500) are active units with 10+ employees in a few divisions (software,
machinery, freight, pharma), lost leads (default 10: positive-unlabelled learning) any active
units; seeded. Columns: name, siren, status (what `leadcrawl run` reads).
"""
import sys

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

stock, out = sys.argv[1], sys.argv[2]
n_won = int(sys.argv[3]) if len(sys.argv) > 3 else 500
n_lost = int(sys.argv[4]) if len(sys.argv) > 4 else 10
t = pq.read_table(stock, columns=["siren", "etatAdministratifUniteLegale", "trancheEffectifsUniteLegale",
                                  "activitePrincipaleUniteLegale", "nomenclatureActivitePrincipaleUniteLegale"])
active = pc.equal(t["etatAdministratifUniteLegale"], "A")
rev2 = pc.equal(t["nomenclatureActivitePrincipaleUniteLegale"], "NAFRev2")
division = pc.utf8_slice_codeunits(t["activitePrincipaleUniteLegale"], 0, 2)
big = pc.is_in(t["trancheEffectifsUniteLegale"], value_set=__import__("pyarrow").array(
    ["11", "12", "21", "22", "31", "32", "41", "42", "51", "52", "53"]))
market = pc.is_in(division, value_set=__import__("pyarrow").array(["62", "28", "52", "21"]))
fill = lambda m: pc.fill_null(m, False)
siren = t["siren"].to_numpy(zero_copy_only=False)


def luhn(s):
    """SIREN check (ingest keeps only Luhn-valid SIRENs; the generator's are not all)."""
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


won_idx = np.flatnonzero(fill(pc.and_(pc.and_(active, rev2), pc.and_(big, market))).to_numpy(zero_copy_only=False))
act_idx = np.flatnonzero(fill(active).to_numpy(zero_copy_only=False))
rng = np.random.default_rng(16)
# The first candidates in a seeded order that pass the check (checking all would be slow).
won = [i for i in rng.permutation(won_idx)[: 20 * n_won] if luhn(siren[i])][:n_won]
lost = [i for i in rng.permutation(np.setdiff1d(act_idx, won))[: 20 * n_lost] if luhn(siren[i])][:n_lost]
with open(out, "w") as fh:
    fh.write("name,siren,status\n")
    for status, idx in (("won", won), ("lost", lost)):
        for i in sorted(idx):
            fh.write(f"Company {siren[i]},{siren[i]},{status}\n")
print(len(won), "clients,", len(lost), "lost")
