#!/usr/bin/env python3
"""A generated CRM export for the evaluate benchmark (bench/evaluate_farm.sh).

    evaluate_gen.py LEADS OUT.csv [--seed 1]

One row per lead: `Lead ID`, `Stage` (won / lost / open, about 20 % of the leads open),
`Description` (a sentence about the company: what the embed stage turns into the lead's
384-dimension vector, and TF-IDF's text) and 50 CRM attribute columns of every kind ingest
types: 24 numbers (some written `1,234.5`, `12%` or `1 234,5`), 12 categories, 8 booleans
(yes/no, true/false, oui/non), 6 dates (ISO and DD/MM/YYYY), three of them (two numbers, a category) pure noise;
5 to 15 % of each column missing, as "", "Select", "N/A" or "-".

The label: a logistic model of engagement (page views, downloads, e-mails), two interactions
(a referral reaching a senior contact; an active trial with heavy usage), the industry, the
recency of the last activity, and the company's sector, which only the description carries
(so the embedding and the text hold signal the attributes do not). About 25 % of the labelled
leads are won; no column alone predicts the label with ROC-AUC near the leakage guard's 0.90,
and no value reads like an outcome.
"""
import argparse
import csv
import datetime as dt
import math
import random

SECTORS = {  # sector: (effect on the log-odds, phrases)
    "software": (1.2, ["cloud software platform", "SaaS analytics suite", "developer tooling", "data integration software"]),
    "fintech": (0.9, ["payment processing service", "digital banking app", "expense management platform"]),
    "cyber": (1.0, ["cybersecurity consultancy", "identity and access management", "endpoint security software"]),
    "consulting": (0.4, ["management consulting firm", "IT consulting practice", "digital transformation advisers"]),
    "manufacturing": (0.0, ["precision machining workshop", "industrial pump manufacturer", "packaging machinery maker"]),
    "logistics": (-0.2, ["freight forwarding company", "last-mile delivery network", "warehouse operator"]),
    "health": (0.3, ["medical device supplier", "telehealth clinic network", "pharmacy chain"]),
    "retail": (-0.6, ["fashion boutique", "online shoe store", "garden centre"]),
    "food": (-1.0, ["family bakery", "craft brewery", "organic farm shop", "seafood restaurant"]),
    "construction": (-0.7, ["roofing contractor", "civil engineering firm", "home renovation company"]),
    "education": (-0.1, ["language school", "online tutoring service", "vocational training centre"]),
    "media": (0.2, ["video production studio", "podcast network", "digital marketing agency"]),
}
ADJ = ["fast-growing", "independent", "family-owned", "venture-backed", "regional", "international",
       "award-winning", "small", "mid-sized", "established", "young", "listed"]
PLACES = ["in Lyon", "in Berlin", "in Austin", "in Leeds", "in Porto", "in Milan", "in Toronto",
          "in Lille", "in Rotterdam", "in Denver", "in Krakow", "in Nantes", "serving Europe",
          "across the Nordics", "in the Midwest", "near Paris"]
FOCUS = ["for small businesses", "for hospitals", "for retailers", "for banks", "for schools",
         "for manufacturers", "for local councils", "for logistics firms", "for startups",
         "for farmers", "for law firms", "for insurers", "for families", "for tourists"]
EXTRA = ["with a loyal customer base", "expanding to new markets", "recently acquired",
         "hiring engineers", "opening a second site", "with a new CEO", "since 1998",
         "with 24/7 support", "focused on quality", "running on legacy systems", ""]

LEAD_SOURCE = ["Google", "Direct", "Referral", "Webinar", "Trade show", "LinkedIn", "Partner", "Cold call", "Newsletter"]
JOB_LEVEL = ["Intern", "Staff", "Manager", "Director", "VP", "C-level"]
INDUSTRY = ["Software", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Public sector",
            "Logistics", "Media", "Energy", "Hospitality", "Real estate", "Telecom", "Agriculture", "Other"]
INDUSTRY_EFFECT = {i: e for i, e in zip(INDUSTRY, [0.5, 0.4, 0.2, -0.3, 0.0, -0.2, -0.4, 0.0, 0.1, 0.2, -0.5, -0.1, 0.3, -0.6, 0.0])}
REGION = ["North", "South", "East", "West", "Central", "Overseas", "Capital", "Coast", "Mountains", "Islands"]
PLAN = ["Free", "Starter", "Team", "Business", "Enterprise"]
CHANNEL = ["email", "phone", "chat", "form", "event"]
DEVICE = ["desktop", "mobile", "tablet"]
LANGUAGE = ["English", "French", "German", "Spanish", "Italian", "Dutch", "Polish", "Portuguese"]
COMPANY_TYPE = ["Private", "Public", "Non-profit", "Government", "Partnership"]
CAMPAIGNS = [f"CMP-{i:03d}" for i in range(40)]
MISSING = ["", "Select", "N/A", "-"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("leads", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    g = rng.gauss
    today = dt.date(2026, 11, 30)
    sectors = list(SECTORS)
    # Per-column missing share, drawn once.
    header = ["Lead ID", "Stage", "Description"]
    num_names = [f"Page Views {i}" for i in range(1, 5)] + [
        "Downloads", "Emails Opened", "Emails Clicked", "Webinars Attended", "Trial Usage Hours",
        "Seats Requested", "Employees", "Annual Budget", "Discount Asked", "Lead Score Marketing",
        "Sessions", "Avg Session Minutes", "Support Tickets", "Pages Per Visit", "Days In Trial",
        "Bounce Rate", "Form Fills", "Price Page Visits", "Noise Number", "Noise Ratio"]
    cat_names = ["Lead Source", "Job Level", "Industry", "Region", "Plan Interest", "First Channel",
                 "Device", "Language", "Company Type", "Campaign", "Country Group", "Noise Category"]
    bool_names = ["Trial Active", "Newsletter", "Do Not Call", "Has Budget", "Existing Tool",
                  "Decision Maker", "Requested Demo", "Event Attendee"]
    date_names = ["Created", "Last Activity", "First Visit", "Trial Start", "Last Email", "Demo Date"]
    header += num_names + cat_names + bool_names + date_names
    assert len(header) == 3 + 50, len(header)
    miss = {h: rng.uniform(0.05, 0.15) for h in header[3:]}

    def maybe(h, v):
        return rng.choice(MISSING) if rng.random() < miss[h] else v

    def day(d, iso):
        return d.isoformat() if iso else d.strftime("%d/%m/%Y")

    won_n = lab_n = 0
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(a.leads):
            sector = rng.choice(sectors)
            eff, phrases = SECTORS[sector]
            desc = " ".join(x for x in [f"A {rng.choice(ADJ)} {rng.choice(phrases)} {rng.choice(PLACES)}",
                                         rng.choice(FOCUS), rng.choice(EXTRA)] if x) + "."
            engagement = g(0, 1)
            views = [max(0, int(math.exp(1.5 + 0.6 * engagement + g(0, 0.5)))) for _ in range(4)]
            downloads = max(0, int(round(2 + 1.5 * engagement + g(0, 1.2))))
            opened = max(0, int(round(5 + 3 * engagement + g(0, 3))))
            clicked = max(0, int(round(opened * rng.uniform(0, 0.4))))
            webinars = max(0, int(round(0.5 * engagement + g(0, 0.8))))
            trial_active = rng.random() < 0.35
            usage = round(max(0.0, rng.expovariate(1 / 12) * (1.6 if trial_active else 0.4)), 1)
            seats = max(1, int(rng.lognormvariate(1.5, 0.8)))
            employees = max(1, int(rng.lognormvariate(4, 1.5)))
            budget = round(rng.lognormvariate(10, 1.2), 2)
            discount = round(rng.uniform(0, 30), 1)
            mscore = round(50 + 10 * engagement + g(0, 15), 1)
            sessions = max(0, int(round(8 + 4 * engagement + g(0, 4))))
            avg_min = round(max(0.1, 4 + g(0, 2)), 2)
            tickets = max(0, int(g(1, 1.5)))
            ppv = round(max(1.0, 3 + 0.5 * engagement + g(0, 1)), 2)
            days_trial = int(rng.uniform(0, 30)) if trial_active else 0
            bounce = round(rng.uniform(10, 90), 1)
            forms = max(0, int(round(1 + 0.7 * engagement + g(0, 1))))
            noise_num = round(g(0, 1), 3)
            price_visits = max(0, int(round(0.8 + 0.6 * engagement + g(0, 1))))
            source = rng.choice(LEAD_SOURCE)
            level = rng.choices(JOB_LEVEL, weights=[5, 30, 30, 18, 10, 7])[0]
            industry = rng.choice(INDUSTRY)
            created = today - dt.timedelta(days=int(rng.uniform(0, 720)))
            recency = int(rng.expovariate(1 / 40))
            last_activity = min(today, created + dt.timedelta(days=int(rng.uniform(0, 200))))
            last_activity = max(created, today - dt.timedelta(days=recency)) if rng.random() < 0.7 else last_activity
            recency = (today - last_activity).days
            has_budget = rng.random() < 0.4
            decision = level in ("Director", "VP", "C-level") and rng.random() < 0.7
            demo = rng.random() < (0.15 + 0.1 * (engagement > 0.5))
            logit = (-3.0 + 1.0 * engagement + 0.25 * math.log1p(downloads) + 0.2 * webinars
                     + (2.2 if source == "Referral" and level in ("Director", "VP", "C-level") else 0.0)
                     + (2.0 if trial_active and usage > 15 else 0.0)
                     + 1.5 * INDUSTRY_EFFECT[industry] + 1.6 * eff
                     + 0.6 * has_budget + 0.5 * demo - 0.01 * recency
                     + 0.3 * math.log10(employees) + g(0, 0.3))
            won = rng.random() < 1 / (1 + math.exp(-logit))
            if rng.random() < 0.2:
                stage = "open"
            else:
                stage = "won" if won else "lost"
                lab_n += 1
                won_n += won
            yes = lambda b, forms=("yes", "no"): forms[0] if b else forms[1]
            nums = [*views, downloads, opened, clicked, webinars, usage, seats, employees,
                    f"{budget:,.2f}", f"{discount}%", mscore, sessions,
                    f"{avg_min:.2f}".replace(".", ","), tickets, ppv, days_trial, bounce, forms, price_visits, noise_num, round(rng.random(), 4)]
            cats = [source, level, industry, rng.choice(REGION), rng.choice(PLAN), rng.choice(CHANNEL),
                    rng.choice(DEVICE), rng.choice(LANGUAGE), rng.choice(COMPANY_TYPE), rng.choice(CAMPAIGNS),
                    rng.choice(["EU", "NA", "APAC", "LATAM", "MEA"]), rng.choice("ABCDEFGH")]
            bools = [yes(trial_active), yes(rng.random() < 0.5, ("true", "false")), yes(rng.random() < 0.1),
                     yes(has_budget, ("oui", "non")), yes(rng.random() < 0.6), yes(decision),
                     yes(demo, ("Yes", "No")), yes(webinars > 0 or rng.random() < 0.1, ("true", "false"))]
            dates = [day(created, True), day(last_activity, False),
                     day(created - dt.timedelta(days=int(rng.uniform(0, 60))), True),
                     day(created + dt.timedelta(days=int(rng.uniform(0, 30))), True),
                     day(today - dt.timedelta(days=int(rng.expovariate(1 / 30))), False),
                     day(created + dt.timedelta(days=int(rng.uniform(5, 90))), True)]
            values = [maybe(h, v) for h, v in zip(header[3:], nums + cats + bools + dates)]
            w.writerow([f"L{i:07d}", stage, desc, *values])
    print(f"{a.leads} leads, {lab_n} labelled, {won_n} won ({won_n / max(lab_n, 1):.1%})")


if __name__ == "__main__":
    main()
