#!/usr/bin/env python3
"""Generate leadcrawl's demo: a CRM lead list and the companies' websites, deterministic from a seed.

    python3 datasets/demo/generate.py            # rewrites datasets/demo/{leads.csv,demo.json,sites/}
    python3 datasets/demo/generate.py --leads 1500 --out DIR   # a larger demo, for `leadcrawl demo --demo-dir DIR`

The bundled demo has 96 leads: quick to run, but too few labelled leads to tell a calibration
error of a few points from chance (perfectly calibrated probabilities show an ECE of about 0.11 on
83 leads). A larger demo is the same generator with more companies: the first 96 are the bundled
ones, unchanged; the registry files grow with them; the universe keeps 20,000 units, the new French companies among them.

Adapted from shared/bench/sitefarm/gen.py (same vocabulary, vocab.py): French and US companies
in ten industries, each site with nav, cookie banner, footer, about / products / careers /
contact / blog pages, French sites in French with a "mentions légales" page carrying the SIREN.
Site i is served by `leadcrawl demo` on 127.0.20.(i+1) (from the 255th on, 127.0.21.x, 127.0.22.x …,
up to 127.0.28.254); `__PORT__` in any file is replaced by
the port the demo server listens on. Two leads point at addresses with no site (dead websites).

The won/lost label is learnable but noisy. Each company is secretly "digital" or "traditional"
(half and half). Half of its sentences (POSITIONED) come from the positioning pools of
vocab.POSITIONING: digital ones with probability fit = 0.9 for a digital company, 0.1 for a
traditional one; digital companies also more often carry a marketing-automation tag. The outcome
is drawn with P(won) = sigmoid(±1.4 + 2 (industry base rate - 0.5)) (+ for digital), so the
text carries the signal as a proportion and the label stays noisy: no feature is a sure tell.
Won companies also lean larger in the registry. About 12% of leads are still open.
"""
import csv, datetime, html, io, json, math, os, random, re, shutil, sys, unicodedata, zipfile
from itertools import chain, count

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vocab import INDUSTRIES, COUNTRIES, COUNTRY_NAMES, STREETS, EN, FR, POSITIONING  # noqa: E402

SEED = 7
N = 96
POSITIONED = 0.5    # share of sentences drawn from the positioning pools
DEAD = {17, 41}          # leads whose website has no server
PORT = "__PORT__"
esc = lambda s: html.escape(s, quote=False)
attr = html.escape
STYLE = ".site-header{display:flex}.main-nav ul{list-style:none}.cookie-banner{position:fixed;bottom:0}"


MAX_LEADS = 9 * 254     # 127.0.20.1 … 127.0.28.254; 127.0.29.1 is the demo's registry API


def ip_of(i):
    return f"127.0.{20 + i // 254}.{i % 254 + 1}"


def slug(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:48]


def luhn_complete(digits):
    """Appends the Luhn check digit to a digit string."""
    for c in "0123456789":
        s = digits + c
        total = 0
        for i, ch in enumerate(reversed(s)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d * 2 > 9 else d * 2
            total += d
        if total % 10 == 0:
            return s


class Site:
    def __init__(self, i, taken):
        r = self.r = random.Random(f"{SEED}:{i}")
        self.i, self.ip = i, ip_of(i)
        self.base = f"http://{self.ip}:{PORT}"
        self.industry = r.choice(sorted(INDUSTRIES))
        ind = INDUSTRIES[self.industry]
        self.country = "FR" if i % 2 == 0 else "US"
        self.lang, legal, cities = COUNTRIES[self.country]
        self.L, self.V = (FR if self.lang == "fr" else EN), ind[self.lang]
        self.ui = self.L["ui"]
        self.city = r.choice(cities)
        self.street = f"{r.randint(1, 200)} {r.choice(STREETS.get(self.country, STREETS['en']))}"
        self.zip = f"{r.randint(1, 95):02d}{r.randint(0, 999):03d}" if self.country == "FR" else f"{r.randint(10000, 99999)}"
        stem = r.choice(ind["stems"])
        tail = r.choice([t for t in ind["tails"] if t != stem])
        core = f"{stem}{tail}" if r.random() < 0.3 else f"{stem} {tail}"
        cands = chain([core], (f"{p} {core}" for p in ("North", "Blue", "Prime", "United", self.city)),
                      (f"{core} {n}" for n in count(2)))
        self.short = next(c for c in cands if c not in taken)
        taken.add(self.short)
        self.legal = r.choice(legal)
        self.name = f"{self.short} {self.legal}"
        r.random()  # was the status draw: kept so the later draws (and names, ids) stay as they were
        rf = random.Random(f"{SEED}:fit:{i}")
        self.digital = rf.random() < 0.5
        self.fit = 0.9 if self.digital else 0.1
        p_won = 1 / (1 + math.exp(-((1.4 if self.digital else -1.4) + 2 * (ind["win"] - 0.5))))
        self.status = "won" if rf.random() < p_won else "lost"
        self.automation = rf.random() < 0.15 + 0.6 * self.fit
        self.P = POSITIONING[self.lang]
        self.open = r.random() < 0.12
        self.founded = r.randint(1950, 2020)
        self.siren = luhn_complete(f"{r.randint(30000000, 99999999)}") if self.country == "FR" else None
        self.cik = f"{r.randint(1000000, 1999999)}" if self.country == "US" else None
        self.decks = {}

    def draw(self, pool):
        deck = self.decks.setdefault(pool, [])
        if not deck:
            deck.extend(self.r.sample(self.L[pool], len(self.L[pool])))
        return deck.pop()

    def fill(self, template):
        r, V = self.r, self.V
        gens = dict(co=lambda: self.short, cust=lambda: r.choice(V["cust"]), ben=lambda: r.choice(V["ben"]),
                    prod=lambda: r.choice(V["prod"]), adj=lambda: r.choice(V["adj"]),
                    pct=lambda: str(r.randint(8, 65)), num=lambda: str(r.randint(20, 900)),
                    emp=lambda: str(r.randint(12, 4000)), ncountries=lambda: str(r.randint(2, 40)),
                    year=lambda: str(self.founded), nextyear=lambda: "2027", city=lambda: self.city,
                    country=lambda: COUNTRY_NAMES[self.lang].get(self.country, self.country),
                    industry=lambda: self.industry.lower())

        class Slots(dict):
            def __missing__(self, k):
                return gens[k]()
        s = template.format_map(Slots())
        return s[0].upper() + s[1:]

    def paragraphs(self, lo=90, hi=270):
        target, paras, n = self.r.randint(lo, hi), [[]], 0
        while n < target:
            if len(paras[-1]) >= self.r.randint(3, 6):
                paras.append([])
            if self.r.random() < POSITIONED:
                pool = self.P["digital" if self.r.random() < self.fit else "traditional"]
                paras[-1].append(self.fill(self.r.choice(pool)))
            else:
                paras[-1].append(self.fill(self.draw("sentences")))
            n += len(paras[-1][-1].split())
        return "\n".join(f"<p>{esc(' '.join(p))}</p>" for p in paras if p)

    def page(self, kind, title, main, desc):
        u = self.ui
        links = [("home", "/"), ("about", "/about.html"), ("products", "/products.html"),
                 ("careers", "/careers.html"), ("contact", "/contact.html"), ("blog", "/blog/")]
        nav = "".join(f'<li><a href="{h}">{u[k]}</a></li>' for k, h in links)
        legal_href = "/mentions-legales.html" if self.lang == "fr" else "/about.html"
        ld = json.dumps({"@context": "https://schema.org", "@type": "Organization", "name": self.name,
                         "url": self.base + "/", "foundingDate": str(self.founded),
                         "address": {"@type": "PostalAddress", "addressLocality": self.city,
                                     "postalCode": self.zip, "addressCountry": self.country}}, ensure_ascii=False)
        hubspot = (f'<script id="hs-script-loader" async src="//js.hs-scripts.com/{self.i + 4000}.js"></script>\n'
                   if self.automation else "")
        return f"""<!DOCTYPE html>
<html lang="{self.lang}">
<head>
<meta charset="utf-8">
<title>{esc(title)} | {esc(self.name)}</title>
<meta name="description" content="{attr(desc)}">
<link rel="stylesheet" href="/assets/site.css">
<style>{STYLE}</style>
<script type="application/ld+json">{ld}</script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-D{self.i:04d}"></script>
{hubspot}</head>
<body class="page-{kind}">
<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="cookies"><p>{esc(u['cookie'])}</p>
<button class="accept">{u['accept']}</button> <button class="reject">{u['reject']}</button></div>
<header class="site-header"><a class="logo" href="/">{esc(self.short)}</a>
<nav class="main-nav"><ul>{nav}</ul></nav></header>
<main id="content">
{main}
</main>
<footer class="site-footer">
<div class="footer-address"><strong>{esc(self.name)}</strong><br>{esc(self.street)}<br>{self.zip} {esc(self.city)}<br>{self.country}</div>
<div class="footer-links"><a href="/contact.html">{u['contact']}</a> | <a href="/careers.html">{u['careers']}</a> | <a href="{legal_href}">{u['legal']}</a></div>
<form class="newsletter" action="/newsletter" method="post"><label>{u['newsletter']} <input type="email" name="email"></label><button>OK</button></form>
<p class="copyright">&copy; 2026 {esc(self.name)} &middot; {u['rights']}</p>
</footer>
</body>
</html>
"""

    def build(self, root):
        r, u = self.r, self.ui
        k = r.randint(2, 3)
        pool = r.sample(self.V["prod"], len(self.V["prod"])) * 2
        models = r.sample(["One", "Pro", "200", "X", "Plus", "Max", "Lite", "360"], 8)
        products = [(t, f"/products/{slug(t)}.html") for t in (f"{p[0].upper()}{p[1:]} {m}" for p, m in zip(pool[:k], models))]
        day, posts = datetime.date(2026, 11, 20), []
        for j in range(r.randint(1, 2)):
            t = self.fill(self.draw("titles"))
            posts.append((t, f"/blog/{j + 1:02d}-{slug(t)}.html", day.isoformat()))
            day -= datetime.timedelta(days=r.randint(4, 40))
        plist = "".join(f'<li><a href="{h}">{esc(t)}</a></li>' for t, h in products)
        pages = {}

        def put(path, kind, title, main, desc=None):
            pages[path] = self.page(kind, title, f"<h1>{esc(title)}</h1>\n{main}", desc or title)

        put("/", "home", u["welcome"].format(co=self.short),
            f"{self.paragraphs(90, 220)}\n<h2>{u['products']}</h2>\n<ul>{plist}</ul>",
            f"{self.short} - {self.industry}, {self.city}")
        put("/about.html", "about", u["about"], self.paragraphs())
        put("/products.html", "products", u["products"], f"{self.paragraphs(100, 250)}\n<ul>{plist}</ul>")
        for t, h in products:
            feats = "".join(f"<li>{esc(self.fill('{adj} {prod}'))}</li>" for _ in range(r.randint(3, 5)))
            put(h, "product", t, f"{self.paragraphs()}\n<h2>{u['features']}</h2>\n<ul>{feats}</ul>")
        jobs = "".join(f"<li>{esc(j)} - {esc(self.city)}</li>" for j in r.sample(self.L["jobs"], r.randint(2, 4)))
        put("/careers.html", "careers", u["careers"], f"{self.paragraphs(100, 250)}\n<h2>{u['openings']}</h2>\n<ul>{jobs}</ul>")
        phone = f"+33 1 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}" if self.lang == "fr" \
            else f"+1 {r.randint(200, 989)} {r.randint(200, 999)} {r.randint(1000, 9999)}"
        dom = slug(self.short) + (".fr" if self.lang == "fr" else ".com")
        put("/contact.html", "contact", u["contact"],
            f"<address>{esc(self.name)}, {esc(self.street)}, {self.zip} {esc(self.city)}<br>{u['phone']}: "
            f"<a href=\"tel:{phone.replace(' ', '')}\">{phone}</a><br>{u['email']}: "
            f"<a href=\"mailto:contact@{dom}\">contact@{dom}</a></address>\n{self.paragraphs(60, 150)}")
        items = "\n".join(f'<article><h2><a href="{h}">{esc(t)}</a></h2><time>{d}</time></article>' for t, h, d in posts)
        put("/blog/", "blog", u["blog"], items)
        for t, h, d in posts:
            put(h, "post", t, f"<p class=\"byline\">{u['by']} Anna - <time>{d}</time></p>\n{self.paragraphs()}")
        if self.lang == "fr":
            tva = f"FR{(12 + 3 * (int(self.siren) % 97)) % 97:02d}{self.siren}"
            put("/mentions-legales.html", "legal", u["legal"],
                f"<p>{esc(self.name)}, {self.legal} au capital de {r.randint(10, 900) * 1000} euros, "
                f"immatriculée au RCS de {esc(self.city)} sous le numéro {self.siren[:3]} {self.siren[3:6]} {self.siren[6:]}. "
                f"Siège social : {esc(self.street)}, {self.zip} {esc(self.city)}. TVA intracommunautaire : {tva}.</p>"
                f"<p>Directeur de la publication : le président de {esc(self.short)}.</p>")
        files = {(p + "index.html" if p.endswith("/") else p): body for p, body in pages.items()}
        files["/private/partner-portal.html"] = "<!DOCTYPE html><html><body><h1>PRIVATE-DO-NOT-CRAWL</h1></body></html>\n"
        files["/assets/site.css"] = "body{font-family:sans-serif;margin:0}\n"
        files["/robots.txt"] = f"User-agent: *\nDisallow: /private/\n\nSitemap: {self.base}/sitemap.xml\n"
        files["/sitemap.xml"] = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                                 + "".join(f"<url><loc>{self.base}{p}</loc></url>\n" for p in pages) + "</urlset>\n")
        for path, body in files.items():
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            with open(root + path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(body)
        return len(pages)


STAGES_OPEN = ["Qualification", "Proposal", "Negotiation"]
NOTES_EN = ["Met at {event}.", "Inbound lead from the website.", "Referred by a partner.", "Cold outreach, replied after 2 emails.",
            "Asked for a demo in {month}.", "Budget holder is the {role}.", ""]
NOTES_FR = ["Rencontré au salon {event}.", "Lead entrant via le site.", "Recommandé par un partenaire.",
            "Prospection froide, réponse après relance.", "Démo demandée en {month}.", "Décideur : {role}.", ""]


# Registry records for the demo's local registry API (`leadcrawl demo` serves them in the real
# APIs' formats): SIRENE records for the French companies, SEC tickers and submissions for the
# US ones that are "listed". Homonyms in other cities make name matching earn its keep.
NAF = {"Software": ("62.01Z", "J"), "Industrial Manufacturing": ("28.29B", "C"), "Logistics": ("52.29B", "H"),
       "Healthcare": ("21.20Z", "C"), "Financial Services": ("66.19B", "K"), "Renewable Energy": ("35.11Z", "D"),
       "Construction": ("41.20A", "F"), "Food & Beverage": ("10.89Z", "C"), "Retail": ("47.91B", "G"),
       "Cybersecurity": ("62.02A", "J")}
SIC = {"Software": ("7372", "SERVICES-PREPACKAGED SOFTWARE"), "Industrial Manufacturing": ("3560", "GENERAL INDUSTRIAL MACHINERY & EQUIPMENT"),
       "Logistics": ("4731", "ARRANGEMENT OF TRANSPORTATION OF FREIGHT & CARGO"), "Healthcare": ("2834", "PHARMACEUTICAL PREPARATIONS"),
       "Financial Services": ("6199", "FINANCE SERVICES"), "Renewable Energy": ("4911", "ELECTRIC SERVICES"),
       "Construction": ("1540", "GENERAL BLDG CONTRACTORS - NONRESIDENTIAL BLDGS"), "Food & Beverage": ("2000", "FOOD AND KINDRED PRODUCTS"),
       "Retail": ("5961", "RETAIL-CATALOG & MAIL-ORDER HOUSES"), "Cybersecurity": ("7373", "SERVICES-COMPUTER INTEGRATED SYSTEMS DESIGN")}
FORMS = {"SAS": "5710", "SA": "5599", "SARL": "5499"}
BANDS = ["02", "03", "11", "12", "21", "22", "31", "32", "41", "42"]
CITY_GEO = {"Paris": (48.8566, 2.3522, "11"), "Lyon": (45.7640, 4.8357, "84"), "Nantes": (47.2184, -1.5536, "52"),
            "Lille": (50.6292, 3.0573, "32"), "Bordeaux": (44.8378, -0.5792, "75"), "Toulouse": (43.6047, 1.4442, "76")}
STATES = {"Austin": "TX", "Denver": "CO", "Boston": "MA", "Chicago": "IL", "Seattle": "WA"}


def sirene_record(s, r, siren, name, city, postcode, legal):
    naf, section = NAF[s.industry]
    # Won companies lean larger: a real but noisy firmographic signal.
    band = r.choice(BANDS[3:] if (s.status == "won" and r.random() < 0.6) else BANDS)
    lat, lon, region = CITY_GEO[city]
    lat, lon = lat + r.uniform(-0.05, 0.05), lon + r.uniform(-0.05, 0.05)
    siret = luhn_complete(f"{siren}0001")
    ca = r.randint(3, 900) * 100_000
    return {
        "siren": siren, "nom_complet": name.upper(), "nom_raison_sociale": name.upper(), "sigle": None,
        "nombre_etablissements": r.randint(1, 6), "nombre_etablissements_ouverts": r.randint(1, 3),
        "siege": {"activite_principale": naf, "activite_principale_naf25": None, "adresse": f"{s.street.upper()} {postcode} {city.upper()}",
                  "code_postal": postcode, "commune": postcode, "coordonnees": f"{lat:.6f},{lon:.6f}",
                  "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}", "libelle_commune": city.upper(), "region": region,
                  "siret": siret, "tranche_effectif_salarie": band, "est_siege": True, "etat_administratif": "A",
                  "code_pays_etranger": None, "libelle_pays_etranger": None, "date_creation": f"{s.founded}-01-01"},
        "activite_principale": naf, "activite_principale_naf25": None, "section_activite_principale": section,
        "categorie_entreprise": "PME" if band < "32" else "ETI", "annee_categorie_entreprise": "2023",
        "date_creation": f"{s.founded}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}", "date_fermeture": None,
        "etat_administratif": "A", "nature_juridique": FORMS.get(legal, "5710"), "tranche_effectif_salarie": band,
        "annee_tranche_effectif_salarie": "2023", "caractere_employeur": "O", "statut_diffusion": "O",
        "finances": {"2023": {"ca": ca, "resultat_net": int(ca * r.uniform(-0.05, 0.12))}},
        "tva": [f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"], "dirigeants": [], "matching_etablissements": [],
    }


def write_registry(here, sites):
    out = os.path.join(here, "registry")
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "sec", "submissions"))
    sirene, tickers = [], []
    for s in sites:
        r = random.Random(f"{SEED}:reg:{s.i}")
        if s.country == "FR":
            sirene.append(sirene_record(s, r, s.siren, s.name, s.city, s.zip, s.legal))
            if r.random() < 0.35:  # a homonym elsewhere in France
                other = r.choice([c for c in CITY_GEO if c != s.city])
                siren = luhn_complete(f"{r.randint(30000000, 99999999)}")
                sirene.append(sirene_record(s, r, siren, f"{s.short} {r.choice(['SARL', 'SAS'])}", other,
                                            f"{r.randint(1, 95):02d}{r.randint(0, 999):03d}", "SARL"))
        elif r.random() < 0.7:  # listed: in the SEC's files
            cik = f"{int(s.cik):010d}"
            tickers.append({"cik_str": int(s.cik), "ticker": "".join(w[0] for w in s.short.split()).upper() + "X",
                            "title": s.name.upper().replace(".", "")})
            sic, sic_label = SIC[s.industry]
            state = STATES.get(s.city, "DE")
            addr = {"street1": s.street.upper(), "street2": None, "city": s.city.upper(), "stateOrCountry": state,
                    "zipCode": s.zip, "stateOrCountryDescription": state}
            sub = {"cik": str(int(s.cik)), "entityType": "operating", "sic": sic, "sicDescription": sic_label,
                   "ownerOrg": None, "insiderTransactionForOwnerExists": 0, "insiderTransactionForIssuerExists": 1,
                   "name": s.name.upper().replace(".", ""), "tickers": [tickers[-1]["ticker"]], "exchanges": ["Nasdaq"],
                   "ein": f"{r.randint(10, 99)}{r.randint(1000000, 9999999)}", "lei": None, "description": "",
                   "website": "", "investorWebsite": "",
                   "category": r.choice(["Non-accelerated filer", "Accelerated filer", "Large accelerated filer"]),
                   "fiscalYearEnd": r.choice(["1231", "0630", "0930"]), "stateOfIncorporation": "DE",
                   "stateOfIncorporationDescription": "DE", "addresses": {"mailing": addr, "business": addr},
                   "phone": f"{r.randint(200, 999)}-555-{r.randint(1000, 9999)}", "flags": "", "formerNames": [],
                   "filings": {"recent": {"accessionNumber": [], "filingDate": [], "form": []}, "files": []}}
            with open(os.path.join(out, "sec", "submissions", f"CIK{cik}.json"), "w", encoding="utf-8") as fh:
                json.dump(sub, fh, indent=1)
            if r.random() < 0.3:  # an unrelated filer with a similar name
                tickers.append({"cik_str": r.randint(2000000, 2999999), "ticker": "ZZ" + str(s.i),
                                "title": f"{s.short.upper()} HOLDINGS TRUST"})
    with open(os.path.join(out, "sirene.json"), "w", encoding="utf-8") as fh:
        json.dump(sirene, fh, indent=1, ensure_ascii=False)
    with open(os.path.join(out, "sec", "company_tickers.json"), "w", encoding="utf-8") as fh:
        json.dump({str(k): t for k, t in enumerate(tickers)}, fh, indent=1)
    return len(sirene), len(tickers)


# --- The universe: ~20,000 French legal units in the real StockUniteLegale CSV schema ----------
# Header of the real file (INSEE, 35 columns; order as published, read by name by leadcrawl).
SUL_HEADER = ["siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale",
              "sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "prenom2UniteLegale",
              "prenom3UniteLegale", "prenom4UniteLegale", "prenomUsuelUniteLegale", "pseudonymeUniteLegale",
              "identifiantAssociationUniteLegale", "trancheEffectifsUniteLegale", "anneeEffectifsUniteLegale",
              "dateDernierTraitementUniteLegale", "nombrePeriodesUniteLegale", "categorieEntreprise",
              "anneeCategorieEntreprise", "dateDebut", "etatAdministratifUniteLegale", "nomUniteLegale",
              "nomUsageUniteLegale", "denominationUniteLegale", "denominationUsuelle1UniteLegale",
              "denominationUsuelle2UniteLegale", "denominationUsuelle3UniteLegale", "categorieJuridiqueUniteLegale",
              "activitePrincipaleUniteLegale", "nomenclatureActivitePrincipaleUniteLegale", "nicSiegeUniteLegale",
              "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale", "caractereEmployeurUniteLegale",
              "activitePrincipaleNAF25UniteLegale"]
UNIVERSE_N = 20_000
# The population's activities (NAF rev. 2) with rough weights: retail, construction, consulting,
# real estate and restaurants dominate the real stock; industry and software are a few percent.
POPULATION_NAF = [("47.91B", 3), ("47.11B", 4), ("47.71Z", 4), ("41.20A", 4), ("43.21A", 5), ("43.32A", 4),
                  ("43.99C", 4), ("70.22Z", 9), ("68.20B", 8), ("68.10Z", 3), ("56.10A", 6), ("56.30Z", 3),
                  ("62.01Z", 3), ("62.02A", 2), ("63.12Z", 1), ("28.29B", 0.5), ("25.62B", 1), ("10.71C", 1.5),
                  ("10.89Z", 0.5), ("52.29B", 1), ("49.41A", 2), ("21.20Z", 0.2), ("66.19B", 1), ("64.20Z", 4),
                  ("35.11Z", 2), ("86.21Z", 3), ("86.90E", 2), ("96.02A", 3), ("85.59A", 3), ("74.10Z", 2),
                  ("73.11Z", 1.5), ("45.11Z", 1.5), ("46.90Z", 2), ("01.11Z", 3), ("55.10Z", 1), ("90.01Z", 2),
                  ("93.12Z", 2), ("81.21Z", 1.5), ("77.39Z", 0.5), ("69.20Z", 1.5)]
# Headcount bands of the population: most legal units have no employee or do not say.
POPULATION_BANDS = [("NN", 52), ("00", 12), ("01", 12), ("02", 8), ("03", 6), ("11", 4), ("12", 2.6),
                    ("21", 1.4), ("22", 0.8), ("31", 0.4), ("32", 0.2), ("41", 0.12), ("42", 0.06),
                    ("51", 0.02)]
# The clients' market: the demo's industries (their NAF codes, vocab's ten) at 10+ employees.
CLIENT_NAF = sorted({naf for naf, _ in NAF.values()})
CLIENT_BANDS = [("11", 20), ("12", 22), ("21", 20), ("22", 15), ("31", 10), ("32", 7), ("41", 4), ("42", 2)]
LOOKALIKE_SHARE = 0.03   # of the universe: companies of the clients' market (the prospects to find)
CEASED_SHARE = 0.08      # rows of closed units (etatAdministratif C), dropped by universe.active_only
NAME_A = ["ATELIERS", "SOCIETE", "GROUPE", "COMPAGNIE", "ETABLISSEMENTS", "CABINET", "MAISON", "STUDIO", "AGENCE",
          "LABORATOIRES", "TRANSPORTS", "BOULANGERIE", "GARAGE", "INDUSTRIES", "SERVICES", "SOLUTIONS", "TECHNOLOGIES"]
NAME_B = ["DU LAC", "DES ALPES", "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND",
          "LEROY", "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX",
          "ATLANTIQUE", "OCCITANIE", "NORMANDIE", "BRETAGNE", "PROVENCE", "ARMOR", "VERCORS", "JURA", "LOIRE"]
FIRST = ["JEAN", "MARIE", "PIERRE", "SOPHIE", "LUC", "ANNE", "PAUL", "CLAIRE", "NICOLAS", "JULIE"]
FORMS_POP = [("5710", 34), ("5499", 28), ("1000", 26), ("5599", 2), ("9220", 5), ("6540", 3), ("5498", 2)]


def weighted(r, pairs):
    total = sum(w for _, w in pairs)
    x = r.uniform(0, total)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def category_of(band):
    if band in ("NN", "00", "01", "02", "03", "11", "12", "21", "22"):
        return "PME"
    return "ETI" if band in ("31", "32", "41") else "GE"


def sul_row(siren, created, band, form, naf, name, state="A", nic="00011", first=None):
    """One StockUniteLegale row: a company (denomination) or a sole trader (nom + prénom)."""
    person = form == "1000"
    return {
        "siren": siren, "statutDiffusionUniteLegale": "O", "unitePurgeeUniteLegale": "",
        "dateCreationUniteLegale": created, "sigleUniteLegale": "", "sexeUniteLegale": "M" if person else "",
        "prenom1UniteLegale": (first or "") if person else "", "prenom2UniteLegale": "", "prenom3UniteLegale": "",
        "prenom4UniteLegale": "", "prenomUsuelUniteLegale": (first or "") if person else "",
        "pseudonymeUniteLegale": "", "identifiantAssociationUniteLegale": "",
        "trancheEffectifsUniteLegale": "" if band == "NN" else band,
        "anneeEffectifsUniteLegale": "" if band == "NN" else "2023",
        "dateDernierTraitementUniteLegale": "2025-12-06T05:25:38", "nombrePeriodesUniteLegale": "3",
        "categorieEntreprise": category_of(band), "anneeCategorieEntreprise": "2023", "dateDebut": created,
        "etatAdministratifUniteLegale": state, "nomUniteLegale": name if person else "",
        "nomUsageUniteLegale": "", "denominationUniteLegale": "" if person else name,
        "denominationUsuelle1UniteLegale": "", "denominationUsuelle2UniteLegale": "",
        "denominationUsuelle3UniteLegale": "", "categorieJuridiqueUniteLegale": form,
        "activitePrincipaleUniteLegale": naf, "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "nicSiegeUniteLegale": nic, "economieSocialeSolidaireUniteLegale": "N", "societeMissionUniteLegale": "",
        "caractereEmployeurUniteLegale": "N" if band in ("NN", "00") else "O",
        "activitePrincipaleNAF25UniteLegale": "",
    }


def write_universe(here):
    """datasets/demo/universe/StockUniteLegale_demo.zip (one CSV): every French company of the demo's
    registry (the leads' own records and their homonyms, as sirene.json has them) among
    UNIVERSE_N legal units. The population is drawn from POPULATION_NAF × POPULATION_BANDS (mostly
    one-person businesses in retail, construction, consulting and real estate); LOOKALIKE_SHARE
    of it is the clients' market (their industries, 10+ employees, older): what a model trained on
    the clients should rank first. The clients are not trivially apart: their NAF codes also hold
    thousands of small population companies, and a fifth of the lookalikes have small bands."""
    with open(os.path.join(here, "registry", "sirene.json"), encoding="utf-8") as fh:
        known = json.load(fh)
    r = random.Random(f"{SEED}:universe")
    rows, taken = [], set()
    for rec in known:
        taken.add(rec["siren"])
        rows.append(sul_row(rec["siren"], rec["date_creation"], rec["tranche_effectif_salarie"],
                            rec["nature_juridique"], rec["activite_principale"], rec["nom_raison_sociale"],
                            nic=rec["siege"]["siret"][9:]))

    def new_siren():
        while True:
            s = luhn_complete(f"{r.randint(10000000, 99999999)}")
            if s not in taken:
                taken.add(s)
                return s

    def date(lo, hi):
        return f"{r.randint(lo, hi)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"

    while len(rows) < UNIVERSE_N:
        lookalike = r.random() < LOOKALIKE_SHARE
        if lookalike:
            naf = r.choice(CLIENT_NAF)
            band = weighted(r, CLIENT_BANDS) if r.random() < 0.8 else weighted(r, POPULATION_BANDS)
            form = weighted(r, [("5710", 60), ("5499", 25), ("5599", 15)])
            created = date(1955, 2018)
        else:
            naf = weighted(r, POPULATION_NAF)
            band = weighted(r, POPULATION_BANDS)
            form = weighted(r, FORMS_POP)
            created = date(1960, 2025) if r.random() < 0.5 else date(2012, 2025)
        state = "C" if r.random() < CEASED_SHARE else "A"
        if form == "1000":
            name, first = r.choice(NAME_B[:20]), r.choice(FIRST)
        else:
            name, first = f"{r.choice(NAME_A)} {r.choice(NAME_B)}", None
            if r.random() < 0.5:
                name += f" {r.randint(2, 99)}"
        rows.append(sul_row(new_siren(), created, band, form, naf, name, state=state,
                            nic=f"{r.randint(11, 99999):05d}", first=first))
    # Shuffle so that the leads' companies are not all at the top of the file.
    r.shuffle(rows)
    out = os.path.join(here, "universe")
    os.makedirs(out, exist_ok=True)
    # Zipped (as INSEE ships it): the CSV is 2.7 MiB, the zip 0.5 MiB. A fixed entry date keeps
    # the file's bytes the same on every generation.
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUL_HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    entry = zipfile.ZipInfo("StockUniteLegale_demo.csv", date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(os.path.join(out, "StockUniteLegale_demo.zip"), "w") as z:
        z.writestr(entry, buf.getvalue().encode("utf-8"), compresslevel=9)
    return len(rows)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leads", type=int, default=N, help=f"number of leads (default {N}, the bundled demo; at most {MAX_LEADS})")
    ap.add_argument("--out", help="folder to write the demo into (default: this folder, datasets/demo)")
    args = ap.parse_args()
    if not 2 < args.leads <= MAX_LEADS:
        sys.exit(f"generate.py: --leads {args.leads}: between 3 and {MAX_LEADS}")
    n = args.leads
    here = os.path.dirname(os.path.abspath(__file__))
    if args.out:
        here = os.path.abspath(args.out)
        os.makedirs(here, exist_ok=True)
    sites_dir = os.path.join(here, "sites")
    if os.path.exists(sites_dir):
        shutil.rmtree(sites_dir)
    taken, sites, pages = set(), [], 0
    for i in range(n):
        s = Site(i, taken)
        sites.append(s)
        if i not in DEAD:
            pages += s.build(os.path.join(sites_dir, s.ip))
    rows = []
    for s in sites:
        r = random.Random(f"{SEED}:crm:{s.i}")
        stage = r.choice(STAGES_OPEN) if s.open else ("Closed Won" if s.status == "won" else "Closed Lost")
        notes = r.choice(NOTES_FR if s.lang == "fr" else NOTES_EN).format(
            event=r.choice(["Vivatech", "SIAL", "CES", "Hannover Messe", "Web Summit"]),
            month=r.choice(["March", "June", "October"]) if s.lang == "en" else r.choice(["mars", "juin", "octobre"]),
            role=r.choice(["CFO", "COO", "Head of IT"]) if s.lang == "en" else r.choice(["DAF", "DSI", "directeur général"]))
        # CRM exports rarely carry the legal name exactly: drop or change the suffix sometimes.
        name = s.name if r.random() < 0.6 else (s.short if r.random() < 0.5 else s.short.upper())
        website = s.base + "/" if r.random() < 0.7 else s.base
        rows.append([f"0016{s.i:05d}", name, website, "France" if s.country == "FR" else "USA",
                     s.siren if (s.siren and r.random() < 0.5) else "", s.cik if (s.cik and r.random() < 0.3) else "",
                     stage, notes])
    with open(os.path.join(here, "leads.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Account ID", "Company", "Website", "Country", "SIREN", "CIK", "Stage", "Notes"])
        w.writerows(rows)
    meta = [dict(i=s.i, ip=s.ip, name=s.name, short=s.short, legal=s.legal, industry=s.industry, country=s.country,
                 city=s.city, postcode=s.zip, street=s.street, founded=s.founded, siren=s.siren, cik=s.cik,
                 status=("open" if s.open else s.status), fit=round(s.fit, 4), dead=s.i in DEAD) for s in sites]
    with open(os.path.join(here, "demo.json"), "w", encoding="utf-8") as fh:
        json.dump(dict(seed=SEED, companies=meta), fh, indent=1, ensure_ascii=False)
    n_sirene, n_tickers = write_registry(here, sites)
    n_universe = write_universe(here)
    print(f"{n} leads, {n - len([d for d in DEAD if d < n])} sites, {pages} pages, {n_sirene} SIRENE records, {n_tickers} SEC tickers, "
          f"{n_universe} universe rows")


if __name__ == "__main__":
    main()
