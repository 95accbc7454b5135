#!/usr/bin/env python3
"""A generated SIRENE stock of legal units for the universe benchmark (bench/universe.sh).

    universe_gen.py ROWS OUT.parquet [--csv OUT.csv] [--seed 1] [--batch 1000000]

Writes StockUniteLegale in the real 35-column schema (the header of the current file, see
../shared/data/registries/fr-sirene-stock/: column names and order as INSEE publishes them),
as Parquet like StockUniteLegale_utf8.parquet (every column a string but the two dates, which are
date32; empty values are nulls), and optionally the same rows as CSV (empty values empty).
Values are drawn to resemble the real stock (about 29 million units, closed ones included):
- 62 % ceased (etatAdministratifUniteLegale C), 38 % active;
- 55 % entrepreneurs (categorieJuridiqueUniteLegale 1000) with person names and no
  denomination, 6 % of them masked (statutDiffusionUniteLegale P, names [ND]); the rest
  companies (SAS 5710, SARL 5499, SCI 6540, associations 9220, …) with a denomination;
- headcount band NN for 83 %, 00 for 7 %, the rest spread over 01 … 53, fewer the larger;
- NAF rev. 2 codes from a weighted list of common real codes plus random codes of real
  divisions; 4 % of the ceased units carry an old NAF rev. 1 code (nomenclature NAFRev1); a
  NAF 2025 code for the active ones;
- creation dates from 1900 to 2025, most of them recent; categorieEntreprise PME for most
  companies with a band, ETI/GE for the large; caractereEmployeur O when the band is 01 or more.
Rows are drawn vectorised (numpy) and written a batch at a time: memory stays around one batch.
"""
import argparse
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

COLUMNS = (
    "siren,statutDiffusionUniteLegale,unitePurgeeUniteLegale,dateCreationUniteLegale,sigleUniteLegale,"
    "sexeUniteLegale,prenom1UniteLegale,prenom2UniteLegale,prenom3UniteLegale,prenom4UniteLegale,"
    "prenomUsuelUniteLegale,pseudonymeUniteLegale,identifiantAssociationUniteLegale,"
    "trancheEffectifsUniteLegale,anneeEffectifsUniteLegale,dateDernierTraitementUniteLegale,"
    "nombrePeriodesUniteLegale,categorieEntreprise,anneeCategorieEntreprise,dateDebut,"
    "etatAdministratifUniteLegale,nomUniteLegale,nomUsageUniteLegale,denominationUniteLegale,"
    "denominationUsuelle1UniteLegale,denominationUsuelle2UniteLegale,denominationUsuelle3UniteLegale,"
    "categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,nomenclatureActivitePrincipaleUniteLegale,"
    "nicSiegeUniteLegale,economieSocialeSolidaireUniteLegale,societeMissionUniteLegale,"
    "caractereEmployeurUniteLegale,activitePrincipaleNAF25UniteLegale"
).split(",")
assert len(COLUMNS) == 35
DATES = {"dateCreationUniteLegale", "dateDebut"}

COMMON_NAF = (
    "68.20A 68.20B 70.10Z 62.01Z 47.11B 56.10A 43.21A 86.21Z 96.02A 01.11Z 41.20A 49.41A 81.21Z "
    "85.59A 94.99Z 90.01Z 74.90B 46.90Z 45.20A 10.71C 55.10Z 93.12Z 66.22Z 69.20Z 71.12B 73.11Z "
    "64.20Z 77.39Z 43.12B 47.91B 82.99Z 88.10A 86.90D 62.02A 58.29C 63.12Z 01.50Z 02.20Z 16.10A "
    "25.62B 33.12Z 43.99C 47.73Z 56.30Z 68.10Z 85.51Z 86.22C 96.09Z 49.32Z 70.22Z"
).split()
DIVISIONS = [
    1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32, 33, 35, 36, 37, 38, 39, 41, 42, 43, 45, 46, 47, 49, 50, 51, 52, 53, 55, 56,
    58, 59, 60, 61, 62, 63, 64, 65, 66, 68, 69, 70, 71, 72, 73, 74, 75, 77, 78, 79, 80, 81, 82, 84,
    85, 86, 87, 88, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
]
BANDS = ["NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42", "51", "52", "53"]
BAND_P = [0.83, 0.07, 0.04, 0.02, 0.012, 0.01, 0.006, 0.0022, 0.0012, 0.0003, 0.0003, 0.00015,
          0.00008, 0.00004, 0.00002, 0.00001]
FORMS = ["5710", "5499", "6540", "9220", "5498", "5720", "6599", "5599", "7490", "6220", "5485"]
FORM_P = [0.33, 0.25, 0.15, 0.12, 0.05, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01]
FIRST = ("JEAN MARIE PIERRE MICHEL ANDRE PHILIPPE NATHALIE ISABELLE SYLVIE CATHERINE NICOLAS "
         "CHRISTOPHE SOPHIE CELINE JULIEN THOMAS CAMILLE LEA MANON HUGO LOUIS EMMA").split()
LAST = ("MARTIN BERNARD DUBOIS THOMAS ROBERT RICHARD PETIT DURAND LEROY MOREAU SIMON LAURENT "
        "LEFEBVRE MICHEL GARCIA DAVID BERTRAND ROUX VINCENT FOURNIER MOREL GIRARD ANDRE MERCIER").split()
WORDS = ("SOCIETE HOLDING CONSEIL IMMOBILIER SERVICES BATIMENT TRANSPORTS INVEST GESTION "
         "DEVELOPPEMENT INGENIERIE DISTRIBUTION ATLANTIQUE PROVENCE ALPES BRETAGNE NORMANDIE "
         "TECHNOLOGIES PATRIMOINE FINANCE SANTE RESTAURATION BOULANGERIE AGRICOLE LOGISTIQUE").split()


def choice(rng, values, n, p=None):
    """Dictionary-encoded draw turned into a string array (fast: no Python strings per row)."""
    idx = rng.choice(len(values), size=n, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(values)).cast(pa.string())


def where(mask, a, b):
    return pc.if_else(pa.array(mask), a, b)


def nulls(n):
    return pa.nulls(n, pa.string())


def batch(rng, start, n):
    cols = {}
    siren = pa.array(np.arange(start, start + n, dtype=np.int64) * 7 + 5_000_003).cast(pa.string())
    cols["siren"] = pc.utf8_lpad(siren, width=9, padding="0")
    person = rng.random(n) < 0.55
    masked = person & (rng.random(n) < 0.06)
    active = rng.random(n) < 0.38
    cols["statutDiffusionUniteLegale"] = where(masked, pa.scalar("P"), pa.scalar("O"))
    cols["unitePurgeeUniteLegale"] = where(~active & (rng.random(n) < 0.3), pa.scalar("true"), pa.scalar(None, pa.string()))
    # Creation: most units are recent (the stock grows), a few from 1900.
    years = np.clip(2025 - rng.exponential(14, n).astype(np.int64), 1900, 2025)
    days = (years - 1970) * 365.25 + rng.integers(0, 365, n)
    created = pa.array(days.astype(np.int32), type=pa.date32())
    cols["dateCreationUniteLegale"] = pc.if_else(pa.array(rng.random(n) < 0.02), pa.scalar(None, pa.date32()), created)
    cols["sigleUniteLegale"] = where(~person & (rng.random(n) < 0.05), choice(rng, WORDS, n), nulls(n))
    first = choice(rng, FIRST, n)
    last = choice(rng, LAST, n)
    masked_or = lambda a: where(masked, pa.scalar("[ND]"), a)
    cols["sexeUniteLegale"] = where(person, masked_or(choice(rng, ["M", "F"], n)), nulls(n))
    cols["prenom1UniteLegale"] = where(person, masked_or(first), nulls(n))
    for c in ["prenom2UniteLegale", "prenom3UniteLegale", "prenom4UniteLegale"]:
        cols[c] = nulls(n)
    cols["prenomUsuelUniteLegale"] = where(person, masked_or(first), nulls(n))
    cols["pseudonymeUniteLegale"] = nulls(n)
    assoc_form = rng.random(n) < 0.0
    cols["identifiantAssociationUniteLegale"] = nulls(n)
    band_idx = rng.choice(len(BANDS), size=n, p=np.array(BAND_P) / sum(BAND_P))
    bands = pa.DictionaryArray.from_arrays(pa.array(band_idx.astype(np.int32)), pa.array(BANDS)).cast(pa.string())
    has_band = band_idx > 0
    cols["trancheEffectifsUniteLegale"] = bands
    cols["anneeEffectifsUniteLegale"] = where(has_band, pa.scalar("2023"), nulls(n))
    cols["dateDernierTraitementUniteLegale"] = choice(rng, ["2025-12-06T05:25:38", "2024-03-19T10:02:11", "2019-11-14T14:21:55"], n)
    cols["nombrePeriodesUniteLegale"] = choice(rng, [str(i) for i in range(1, 12)], n)
    large = band_idx >= 9
    cat = np.where(band_idx >= 12, "GE", np.where(large, "ETI", "PME"))
    cols["categorieEntreprise"] = where(~person & active & has_band, pa.array(cat), nulls(n))
    cols["anneeCategorieEntreprise"] = where(~person & active & has_band, pa.scalar("2023"), nulls(n))
    cols["dateDebut"] = created
    cols["etatAdministratifUniteLegale"] = where(active, pa.scalar("A"), pa.scalar("C"))
    cols["nomUniteLegale"] = where(person, masked_or(last), nulls(n))
    cols["nomUsageUniteLegale"] = nulls(n)
    name = pc.binary_join_element_wise(choice(rng, WORDS, n), choice(rng, WORDS, n), choice(rng, LAST, n), " ")
    cols["denominationUniteLegale"] = where(person, nulls(n), name)
    cols["denominationUsuelle1UniteLegale"] = where(~person & (rng.random(n) < 0.03), choice(rng, WORDS, n), nulls(n))
    cols["denominationUsuelle2UniteLegale"] = nulls(n)
    cols["denominationUsuelle3UniteLegale"] = nulls(n)
    cols["categorieJuridiqueUniteLegale"] = where(person, pa.scalar("1000"), choice(rng, FORMS, n, np.array(FORM_P) / sum(FORM_P)))
    # Activity: common codes 60 %, else a random subclass of a real division.
    common = choice(rng, COMMON_NAF, n)
    div = np.array(DIVISIONS)[rng.integers(0, len(DIVISIONS), n)]
    sub = rng.integers(0, 100, n)
    letters = np.array(list("ZZZZAB"))[rng.integers(0, 6, n)]
    rand_code = pc.binary_join_element_wise(
        pc.utf8_lpad(pa.array(div).cast(pa.string()), width=2, padding="0"),
        pc.utf8_lpad(pa.array(sub).cast(pa.string()), width=2, padding="0"), ".")
    rand_code = pc.binary_join_element_wise(rand_code, pa.array(letters), "")
    rev2 = where(rng.random(n) < 0.6, common, rand_code)
    rev1 = ~active & (rng.random(n) < 0.04)
    rev1_code = pc.binary_join_element_wise(
        pc.utf8_lpad(pa.array(rng.integers(10, 93, n)).cast(pa.string()), width=2, padding="0"),
        pa.array(rng.integers(0, 10, n)).cast(pa.string()), ".")
    rev1_code = pc.binary_join_element_wise(rev1_code, choice(rng, list("ABCDEFGHJK"), n), "")
    no_code = rng.random(n) < 0.005
    code = where(rev1, rev1_code, rev2)
    cols["activitePrincipaleUniteLegale"] = where(no_code, nulls(n), code)
    cols["nomenclatureActivitePrincipaleUniteLegale"] = where(no_code, nulls(n), where(rev1, pa.scalar("NAFRev1"), pa.scalar("NAFRev2")))
    cols["nicSiegeUniteLegale"] = pc.utf8_lpad(pa.array(rng.integers(11, 400, n)).cast(pa.string()), width=5, padding="0")
    cols["economieSocialeSolidaireUniteLegale"] = where(~person, choice(rng, ["N", "N", "N", "O"], n), nulls(n))
    cols["societeMissionUniteLegale"] = nulls(n)
    cols["caractereEmployeurUniteLegale"] = where(band_idx >= 2, pa.scalar("O"), where(active, pa.scalar("N"), nulls(n)))
    naf25 = pc.binary_join_element_wise(pc.utf8_slice_codeunits(rev2, 0, 5), pa.scalar("Y"), "")
    cols["activitePrincipaleNAF25UniteLegale"] = where(active & ~no_code, naf25, nulls(n))
    del assoc_form
    return pa.table([cols[c] for c in COLUMNS], names=COLUMNS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("out")
    ap.add_argument("--csv")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1_000_000)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    writer = None
    csv_out = None
    done = 0
    while done < a.rows:
        n = min(a.batch, a.rows - done)
        t = batch(rng, done, n)
        if writer is None:
            writer = pq.ParquetWriter(a.out, t.schema, compression="zstd")
            if a.csv:
                csv_out = pacsv.CSVWriter(a.csv, t.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
        writer.write_table(t, row_group_size=min(n, 1 << 20))
        if csv_out is not None:
            csv_out.write_table(t)
        done += n
        print(f"\r{done}/{a.rows} rows", end="", file=sys.stderr)
    print(file=sys.stderr)
    writer.close()
    if csv_out is not None:
        csv_out.close()


if __name__ == "__main__":
    main()
