"""The company's numbers, drawn from the seed, and the SQLite file that holds them.

Mail, documents and chat quote these figures, so the numbers in a thread
match the numbers in the database.
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from understudy.demo.company import Company

__all__ = ["CUSTOMERS", "PRODUCTS", "REGIONS", "Figures", "draw_figures", "write_figures"]

PRODUCTS = ("Halcyon Core", "Halcyon Insights", "Services")
REGIONS = ("North America", "EMEA", "APAC")
CUSTOMERS = (
    "Brightline Logistics",
    "Meridian Health",
    "Polaris Retail",
    "Greenfield Foods",
    "Harborview Bank",
    "Northstar Media",
    "Copperline Manufacturing",
    "Lumen Schools",
    "Redwood Insurance",
    "Summit Outdoor",
)
_STAGES = ("Prospecting", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
_BUDGET_CATEGORIES = ("people", "cloud", "vendors", "travel")
_DEPARTMENTS = ("engineering", "sales", "finance", "hr", "ops", "product", "exec")


@dataclass(frozen=True, slots=True)
class Figures:
    """Revenue, headcount, pipeline, budget and compensation tables, plus headline numbers."""

    revenue: tuple[tuple[str, str, str, int], ...]
    headcount: tuple[tuple[str, str, int], ...]
    pipeline: tuple[tuple[str, str, str, int, str, str], ...]
    budget: tuple[tuple[str, str, int, int], ...]
    compensation: tuple[tuple[str, int, float, str], ...]
    fy_forecast: int
    fy_forecast_revised: int
    nimbus_contract: int

    def quarter_revenue(self, quarter: str) -> int:
        """Return total revenue for one quarter."""
        return sum(r[3] for r in self.revenue if r[0] == quarter)

    def project_budget(self, project: str) -> tuple[int, int]:
        """Return a project's planned and spent totals."""
        rows = [b for b in self.budget if b[0] == project]
        return sum(b[2] for b in rows), sum(b[3] for b in rows)

    @property
    def quarters(self) -> tuple[str, ...]:
        """Return the quarters covered, oldest first."""
        return tuple(dict.fromkeys(r[0] for r in self.revenue))


def _quarters(today: date, count: int) -> list[str]:
    year, quarter = today.year, (today.month - 1) // 3 + 1
    labels = []
    for _ in range(count):
        quarter -= 1
        if quarter == 0:
            year, quarter = year - 1, 4
        labels.append(f"{year}-Q{quarter}")
    return labels[::-1]


def _revenue(rng: random.Random, today: date) -> list[tuple[str, str, str, int]]:
    rows = []
    base = {"North America": 2_400_000, "EMEA": 1_100_000, "APAC": 450_000}
    share = {"Halcyon Core": 0.62, "Halcyon Insights": 0.28, "Services": 0.10}
    for n, quarter in enumerate(_quarters(today, 8)):
        growth = 1.0 + 0.035 * n
        for region in REGIONS:
            for product in PRODUCTS:
                value = base[region] * share[product] * growth * rng.uniform(0.93, 1.07)
                rows.append((quarter, region, product, int(round(value, -2))))
    return rows


def _headcount(rng: random.Random, company: Company, today: date) -> list[tuple[str, str, int]]:
    now = {d: len(company.in_group(d)) * 3 + rng.randrange(0, 4) for d in _DEPARTMENTS}
    rows = []
    month = date(today.year, today.month, 1)
    for back in range(11, -1, -1):
        first = month
        for _ in range(back):
            first = (first - timedelta(days=1)).replace(day=1)
        for department in _DEPARTMENTS:
            rows.append((f"{first:%Y-%m}", department, max(1, now[department] - back // 3)))
    return rows


def _pipeline(
    rng: random.Random, company: Company, today: date
) -> list[tuple[str, str, str, int, str, str]]:
    owners = [company.employee(p).email for p in ("ryan-oneill", "sofia-rossi", "tom-becker")]
    rows = []
    for n, customer in enumerate(CUSTOMERS):
        for deal in range(1 + n % 2):
            stage = rng.choice(_STAGES)
            close = today + timedelta(days=rng.randrange(-30, 120))
            amount = int(round(rng.uniform(24_000, 310_000), -3))
            name = f"{customer} — {'Renewal' if deal else 'Expansion'}"
            rows.append((name, customer, stage, amount, rng.choice(owners), close.isoformat()))
    return rows


def _budget(rng: random.Random, company: Company) -> list[tuple[str, str, int, int]]:
    rows = []
    for project in company.projects:
        for category in _BUDGET_CATEGORIES:
            planned = int(round(rng.uniform(40_000, 420_000), -3))
            ratio = rng.uniform(0.55, 0.95)
            if project.id == "atlas" and category in ("people", "cloud"):
                ratio = rng.uniform(1.08, 1.22)
            rows.append((project.id, category, planned, int(round(planned * ratio, -2))))
    return rows


def _compensation(
    rng: random.Random, company: Company, today: date
) -> list[tuple[str, int, float, str]]:
    base = {0: 310_000, 1: 235_000, 2: 128_000}
    bonus = {0: (30.0,), 1: (15.0, 20.0), 2: (5.0, 8.0, 10.0, 12.0)}
    review = (today - timedelta(days=rng.randrange(20, 40))).isoformat()
    return [
        (
            p.email,
            int(round(base[p.level] * rng.uniform(0.85, 1.2), -3)),
            rng.choice(bonus[p.level]),
            review,
        )
        for p in company.people
    ]


def draw_figures(company: Company, seed: int, today: date) -> Figures:
    """Return the company's figures for this seed and day."""
    rng = random.Random(f"{seed}:figures")
    revenue = _revenue(rng, today)
    total = sum(r[3] for r in revenue[-36:])
    forecast = int(round(total * 1.04, -4))
    return Figures(
        revenue=tuple(revenue),
        headcount=tuple(_headcount(rng, company, today)),
        pipeline=tuple(_pipeline(rng, company, today)),
        budget=tuple(_budget(rng, company)),
        compensation=tuple(_compensation(rng, company, today)),
        fy_forecast=forecast,
        fy_forecast_revised=int(round(forecast * rng.uniform(0.91, 0.95), -4)),
        nimbus_contract=int(round(rng.uniform(380_000, 520_000), -3)),
    )


_SCHEMA = """
CREATE TABLE revenue (quarter TEXT NOT NULL, region TEXT NOT NULL, product TEXT NOT NULL,
    revenue_usd INTEGER NOT NULL);
CREATE TABLE headcount (month TEXT NOT NULL, department TEXT NOT NULL, headcount INTEGER NOT NULL);
CREATE TABLE pipeline (deal TEXT NOT NULL, customer TEXT NOT NULL, stage TEXT NOT NULL,
    amount_usd INTEGER NOT NULL, owner_email TEXT NOT NULL, expected_close TEXT NOT NULL);
CREATE TABLE budget (project TEXT NOT NULL, category TEXT NOT NULL, planned_usd INTEGER NOT NULL,
    spent_usd INTEGER NOT NULL);
CREATE TABLE compensation (person_email TEXT NOT NULL, salary_usd INTEGER NOT NULL,
    bonus_pct REAL NOT NULL, review_date TEXT NOT NULL);
"""


def write_figures(figures: Figures, path: Path) -> None:
    """Write the figures to a SQLite file at ``path``, through a temporary file."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    connection = sqlite3.connect(temporary)
    try:
        connection.executescript(_SCHEMA)
        connection.executemany("INSERT INTO revenue VALUES (?, ?, ?, ?)", figures.revenue)
        connection.executemany("INSERT INTO headcount VALUES (?, ?, ?)", figures.headcount)
        connection.executemany("INSERT INTO pipeline VALUES (?, ?, ?, ?, ?, ?)", figures.pipeline)
        connection.executemany("INSERT INTO budget VALUES (?, ?, ?, ?)", figures.budget)
        connection.executemany("INSERT INTO compensation VALUES (?, ?, ?, ?)", figures.compensation)
        connection.commit()
    finally:
        connection.close()
    os.replace(temporary, path)
