#!/usr/bin/env python3
"""The pandas side of bench/universe.sh: what the universe stage does, done the usual way.

    universe_pandas.py StockUniteLegale.parquet [OUT.parquet]

Reads the stock with pandas (pyarrow engine, the columns the stage reads), keeps the active
units, derives the same firmographics with vectorised string operations (NACE division and
section from the NAF rev. 2 code, headcount band bounds, employer flag, head office SIRET) and
optionally writes the frame to Parquet. Prints the number of companies kept. Run whole under
/usr/bin/time -v by the benchmark, so its wall time and peak memory are the process's.
"""
import sys

import pandas as pd

COLUMNS = [
    "siren", "statutDiffusionUniteLegale", "dateCreationUniteLegale", "sigleUniteLegale",
    "prenom1UniteLegale", "prenomUsuelUniteLegale", "pseudonymeUniteLegale",
    "trancheEffectifsUniteLegale", "categorieEntreprise", "etatAdministratifUniteLegale",
    "nomUniteLegale", "nomUsageUniteLegale", "denominationUniteLegale",
    "denominationUsuelle1UniteLegale", "denominationUsuelle2UniteLegale",
    "denominationUsuelle3UniteLegale", "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale", "nomenclatureActivitePrincipaleUniteLegale",
    "activitePrincipaleNAF25UniteLegale", "nicSiegeUniteLegale", "caractereEmployeurUniteLegale",
]
BANDS = {"00": (0, 0), "01": (1, 2), "02": (3, 5), "03": (6, 9), "11": (10, 19), "12": (20, 49),
         "21": (50, 99), "22": (100, 199), "31": (200, 249), "32": (250, 499), "41": (500, 999),
         "42": (1000, 1999), "51": (2000, 4999), "52": (5000, 9999), "53": (10000, None)}
SECTIONS = [("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43),
            ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63), ("K", 64, 66), ("L", 68, 68),
            ("M", 69, 75), ("N", 77, 82), ("O", 84, 84), ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93),
            ("S", 94, 96), ("T", 97, 98), ("U", 99, 99)]


def main():
    df = pd.read_parquet(sys.argv[1], columns=COLUMNS)
    df = df[df["etatAdministratifUniteLegale"] == "A"].copy()
    rev2 = df["nomenclatureActivitePrincipaleUniteLegale"] == "NAFRev2"
    division = df["activitePrincipaleUniteLegale"].str.slice(0, 2).where(rev2)
    df["nace_division"] = division.astype("category")
    div_num = pd.to_numeric(division, errors="coerce")
    section = pd.Series(pd.NA, index=df.index, dtype="object")
    for letter, lo, hi in SECTIONS:
        section = section.mask((div_num >= lo) & (div_num <= hi), letter)
    df["nace_section"] = section.astype("category")
    band = df["trancheEffectifsUniteLegale"]
    df["headcount_min"] = band.map({k: v[0] for k, v in BANDS.items()}).astype("UInt32")
    df["headcount_max"] = band.map({k: v[1] for k, v in BANDS.items()}).astype("UInt32")
    df["employer"] = df["caractereEmployeurUniteLegale"].map({"O": True, "N": False})
    df["head_office_siret"] = df["siren"] + df["nicSiegeUniteLegale"]
    name = df["denominationUniteLegale"]
    person = df["prenomUsuelUniteLegale"].fillna(df["prenom1UniteLegale"]) + " " + df[
        "nomUsageUniteLegale"].fillna(df["nomUniteLegale"])
    df["name"] = name.fillna(person)
    for c in ["categorieJuridiqueUniteLegale", "categorieEntreprise", "trancheEffectifsUniteLegale"]:
        df[c] = df[c].astype("category")
    if len(sys.argv) > 2:
        df.to_parquet(sys.argv[2], compression="zstd")
    print(len(df))


if __name__ == "__main__":
    main()
